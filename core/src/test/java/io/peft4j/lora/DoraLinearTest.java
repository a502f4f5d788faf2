package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.peft4j.Peft;
import io.peft4j.golden.GoldenCase;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DoRA on Linear against its formula computed independently here, merge/unmerge and PEFT's saved key. */
class DoraLinearTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void forwardMergeAndFiles(@TempDir Path tmp) throws Exception {
        GoldenCase c = GoldenCase.named("b1_lora_mlp");
        Block model = c.buildBaseModel(manager);
        NDArray x = manager.randomNormal(new Shape(5, 16));
        float[] base = GoldenCase.forward(model, x, manager);
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1")).useDora(true)
                .initLoraWeights(InitLoraWeights.FALSE).build();
        ModelAdapters adapters = Peft.injectAdapter(config, model);
        DoraLinear dora = (DoraLinear) adapters.tunedModules().get("fc1").adapter("default");

        NDArray w = model.getParameters().get("01fc1_weight").getArray();
        NDArray bias = model.getParameters().get("01fc1_bias").getArray();
        NDArray a = dora.loraA().getArray();
        NDArray b = dora.loraB().getArray();
        NDArray m = dora.parameters().get("lora_magnitude_vector.default.weight").getArray();
        NDArray combined = w.add(b.matMul(a).mul(2f));
        NDArray rowNorm = combined.square().sum(new int[] {1}).sqrt();
        assertTrue(m.sub(rowNorm).abs().max().getFloat() < 1e-5, "magnitude starts at ||W + s B A||");

        // With m at its initial value the DoRA layer equals x (W + s B A)^T * (m / norm) + bias = x (W + sBA)^T + b.
        m.set(m.mul(1.5f).toFloatArray());
        NDArray scale = m.div(rowNorm);
        NDArray h = x.matMul(combined.transpose()).mul(scale).add(bias);
        float[] fc1Expected = h.toFloatArray();
        float[] fc1Actual = model.getChildren().get(0).getValue()
                .forward(new ai.djl.training.ParameterStore(manager, false), new ai.djl.ndarray.NDList(x), false)
                .head().toFloatArray();
        GoldenCase.assertClose(fc1Expected, fc1Actual, 1e-4, "DoRA fc1 output");

        float[] active = GoldenCase.forward(model, x, manager);
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertIdentical(base, GoldenCase.forward(model, x, manager), "disabled");
        adapters.setAdaptersEnabled(true);
        Map<String, float[]> before = Map.of("w", w.toFloatArray());
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(active, GoldenCase.forward(model, x, manager), 1e-5, "merged equals unmerged");
        adapters.unmerge();
        GoldenCase.assertClose(before.get("w"), w.toFloatArray(), 1e-6, "unmerge restores W");

        Map<String, NDArray> sd = Peft.getStateDict(model);
        assertEquals(List.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc1.lora_magnitude_vector"),
                List.copyOf(sd.keySet()), "PEFT's DoRA keys");
        assertEquals(new Shape(32), sd.get("fc1.lora_magnitude_vector").getShape());
        Peft.saveAdapter(model, tmp);
        Block fresh = c.buildBaseModel(manager);
        Peft.loadAdapter(fresh, tmp);
        GoldenCase.assertClose(active, GoldenCase.forward(fresh, x, manager), 1e-5, "saved DoRA adapter reloads");
    }
}

package io.peft4j.lora;

import ai.djl.modality.nlp.embedding.TrainableWordEmbedding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Conv3d;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DoRA on convolutions of every rank and on an embedding, against PEFT's formulas written out here (independently of
 * {@code DoraMagnitude}): {@code V = W + s (B A)} in the base weight's layout, {@code n} its norm per output feature,
 * the adapted layer equal to the base layer with weight {@code (m / n) V}. The magnitude is perturbed away from its
 * initial norm first, as the golden cases do, so that the formula is tested, not the identity.
 */
class DoraLayersTest extends DjlTestCase {

    private static LoraConfig dora() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("0")).useDora(true)
                .initLoraWeights(InitLoraWeights.FALSE).build();
    }

    private float[] forward(Block block, NDArray x) {
        return block.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    private static NDArray magnitude(ModelAdapters adapters) {
        return adapters.tunedModules().get("0").adapter("default").parameters()
                .get("lora_magnitude_vector.default.weight").getArray();
    }

    /** Multiplies the magnitude by {@code 1 + 0.1 * N(0, 1)}, as the golden cases' fill. */
    private void perturb(NDArray m) {
        m.set(m.mul(manager.randomNormal(m.getShape()).mul(0.1f).add(1f)).toFloatArray());
    }

    private SequentialBlock convModel(int dims, Shape input) {
        Block conv = dims == 1
                ? Conv1d.builder().setKernelShape(new Shape(3)).setFilters(6).optStride(new Shape(2))
                        .optPadding(new Shape(1)).build()
                : dims == 2 ? Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(6)
                        .optPadding(new Shape(1, 1)).build()
                : Conv3d.builder().setKernelShape(new Shape(2, 3, 3)).setFilters(6).optPadding(new Shape(0, 1, 1))
                        .build();
        SequentialBlock model = new SequentialBlock().add(conv);
        model.initialize(manager, DataType.FLOAT32, input);
        return model;
    }

    private static NDArray convParameter(SequentialBlock model, String name) {
        return model.getChildren().valueAt(0).getParameters().get(name).getArray();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void convolutionEqualsTheBaseLayerWithWeightMOverNormTimesV(int dims, @TempDir Path tmp) {
        Shape input = dims == 1 ? new Shape(2, 5, 9) : dims == 2 ? new Shape(2, 5, 6, 6) : new Shape(2, 5, 4, 6, 6);
        SequentialBlock model = convModel(dims, input);
        NDArray x = manager.randomNormal(input);
        float[] base = forward(model, x);
        NDArray w = convParameter(model, "weight");
        NDArray wBefore = w.duplicate();
        NDArray bias = convParameter(model, "bias");

        ModelAdapters adapters = Peft.injectAdapter(dora(), model);
        LowRankAdapter lora = (LowRankAdapter) adapters.tunedModules().get("0").adapter("default");
        NDArray m = magnitude(adapters);
        long[] expectedShape = new long[dims + 2];
        Arrays.fill(expectedShape, 1);
        expectedShape[1] = 6;
        assertEquals(new Shape(expectedShape), m.getShape(), "PEFT's conv magnitude shape [1, out, 1...]");

        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        NDArray v = w.add(b.reshape(6, 4).matMul(a.reshape(4, -1)).reshape(w.getShape()).mul(2f));
        NDArray channelNorm = v.reshape(6, -1).square().sum(new int[] {1}).sqrt();
        GoldenCase.assertClose(channelNorm.toFloatArray(), m.toFloatArray(), 1e-5, "m starts at ||W + s B A||");
        perturb(m);

        NDArray merged = v.reshape(6, -1).mul(m.reshape(6, 1).div(channelNorm.reshape(6, 1))).reshape(w.getShape());
        SequentialBlock plain = convModel(dims, input);
        convParameter(plain, "weight").set(merged.toFloatArray());
        convParameter(plain, "bias").set(bias.toFloatArray());
        float[] active = forward(model, x);
        GoldenCase.assertClose(forward(plain, x), active, 1e-5, "conv" + dims + "d DoRA = conv(x, (m/n) V) + b");
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertIdentical(base, forward(model, x), "disabled");
        adapters.setAdaptersEnabled(true);

        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(merged.toFloatArray(), w.toFloatArray(), 1e-5, "merged weight (m/n) V");
        GoldenCase.assertClose(active, forward(model, x), 1e-5, "merged output");
        adapters.unmerge();
        GoldenCase.assertClose(wBefore.toFloatArray(), w.toFloatArray(), 1e-6, "unmerge restores W");

        Map<String, NDArray> sd = Peft.getStateDict(model);
        assertEquals(List.of("0.lora_A.weight", "0.lora_B.weight", "0.lora_magnitude_vector"),
                List.copyOf(sd.keySet()));
        Peft.saveAdapter(model, tmp);
        SequentialBlock fresh = convModel(dims, input);
        convParameter(fresh, "weight").set(wBefore.toFloatArray());
        convParameter(fresh, "bias").set(bias.toFloatArray());
        Peft.loadAdapter(fresh, tmp);
        GoldenCase.assertClose(active, forward(fresh, x), 1e-5, "saved DoRA conv adapter reloads");
    }

    @Test
    void embeddingScalesEachDimensionByMOverItsColumnNorm() {
        NDArray table = manager.randomNormal(new Shape(7, 5));
        SequentialBlock model = new SequentialBlock()
                .add(TrainableWordEmbedding.fromPretrained(table, List.of("a", "b", "c", "d", "e", "f", "g")));
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3));
        NDArray ids = manager.create(new long[] {0, 3, 6, 1, 1, 2}, new Shape(2, 3));
        ModelAdapters adapters = Peft.injectAdapter(dora(), model);
        LowRankAdapter lora = (LowRankAdapter) adapters.tunedModules().get("0").adapter("default");
        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        NDArray m = magnitude(adapters);
        assertEquals(new Shape(5), m.getShape(), "magnitude per embedding dimension");
        NDArray v = table.add(b.matMul(a).transpose().mul(2f));
        NDArray columnNorm = v.square().sum(new int[] {0}).sqrt();
        GoldenCase.assertClose(columnNorm.toFloatArray(), m.toFloatArray(), 1e-5, "m starts at the column norms");
        perturb(m);
        NDArray scale = m.div(columnNorm);
        NDArray flat = ids.flatten();
        float[] expected = table.get(flat).add(a.transpose().get(flat).matMul(b.transpose()).mul(2f)).mul(scale)
                .toFloatArray();
        float[] active = forward(model, ids);
        GoldenCase.assertClose(expected, active, 1e-5, "(m/n) * (W[ids] + s A^T[ids] B^T)");
        NDArray w = model.getParameters().valueAt(0).getArray();
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(v.mul(scale).toFloatArray(), w.toFloatArray(), 1e-5, "merged table (m/n) V");
        GoldenCase.assertClose(active, forward(model, ids), 1e-5, "merged output");
        adapters.unmerge();
        GoldenCase.assertClose(table.toFloatArray(), w.toFloatArray(), 1e-5, "unmerge restores the table");
    }

    @Test
    void trainingForwardMatchesInferenceAndTrainsAbMagnitude() {
        SequentialBlock model = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).optPadding(new Shape(1, 1)).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3, 5, 5));
        ModelAdapters adapters = Peft.injectAdapter(dora(), model);
        perturb(magnitude(adapters));
        NDArray x = manager.randomNormal(new Shape(2, 3, 5, 5));
        float[] inference = forward(model, x);
        Map<String, Parameter> params = adapters.tunedModules().get("0").adapter("default").parameters();
        try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
            NDArray y = model.forward(new ParameterStore(manager, false), new NDList(x), true).head();
            GoldenCase.assertClose(inference, y.toFloatArray(), 1e-5, "training forward (no dropout)");
            collector.backward(y.square().sum());
        }
        for (String name : List.of("lora_A.default.weight", "lora_B.default.weight",
                "lora_magnitude_vector.default.weight")) {
            NDArray g = params.get(name).getArray().getGradient();
            assertTrue(g.abs().sum().getFloat() > 0f, name + " has a gradient");
        }
    }

    @Test
    void groupedConvolutionIsRefused() {
        SequentialBlock grouped = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).optGroups(2).optPadding(new Shape(1, 1)).build());
        grouped.initialize(manager, DataType.FLOAT32, new Shape(1, 4, 5, 5));
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(dora(), grouped));
        assertTrue(e.getMessage().startsWith("use_dora: module '0' is a grouped convolution (groups=2)"),
                e.getMessage());
    }
}

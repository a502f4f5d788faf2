package io.peft4j.state;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An adapter file holding NaN or infinite values is refused at load, naming file and key; the model is unchanged. */
class NonFiniteLoadTest extends DjlTestCase {

    @Test
    void aNonFiniteTensorIsRefusedNamingFileAndKey(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("bad");
        try (Model source = Model.newInstance("source")) {
            Mlp mlp = new Mlp();
            source.setBlock(mlp);
            TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                    source.getNDManager());
            Peft.injectAdapter(LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1", "fc2"))
                    .initLoraWeights(InitLoraWeights.FALSE).build(), mlp);
            Peft.saveAdapter(mlp, dir);
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : Peft.getStateDict(mlp).entrySet()) {
                NDArray a = e.getValue().duplicate();
                if (e.getKey().equals("fc2.lora_B.weight")) {
                    a.set(new NDIndex("1, 2"), Float.POSITIVE_INFINITY);
                }
                tensors.put(e.getKey(), TensorArrays.fromNDArray(a));
            }
            SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        }
        try (Model model = Model.newInstance("target")) {
            Mlp mlp = new Mlp();
            model.setBlock(mlp);
            TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                    model.getNDManager());
            NDArray x = manager.randomNormal(new Shape(3, 16));
            float[] before = mlp.forward(new ParameterStore(manager, false), new NDList(x), false).head()
                    .toFloatArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.loadAdapter(mlp,
                    dir));
            assertEquals(dir.resolve("adapter_model.safetensors") + ": tensor 'fc2.lora_B.weight' holds NaN or "
                    + "infinite values; the adapter is refused", e.getMessage());
            assertTrue(Peft.adapters(mlp).orElseThrow().adapterNames().isEmpty(), "nothing stays injected");
            assertArrayEquals(before, mlp.forward(new ParameterStore(manager, false), new NDList(x), false).head()
                    .toFloatArray(), 0f, "the model computes as before");
        }
    }
}

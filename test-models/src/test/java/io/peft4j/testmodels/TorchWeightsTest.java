package io.peft4j.testmodels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Name mapping, strictness and array ownership of {@link TorchWeights}. */
class TorchWeightsTest {

    @TempDir
    Path tmp;

    @Test
    void torchNamesFollowTheTorchStateDict() {
        assertEquals(List.of("embedding.weight", "linear.weight", "linear.bias", "lm_head.weight", "lm_head.bias"),
                List.copyOf(TorchWeights.torchParameters(new DummyModel()).keySet()));
        assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "head.weight", "head.bias"),
                List.copyOf(TorchWeights.torchParameters(new Mlp()).keySet()));
        assertEquals(List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "head.weight", "head.bias"),
                List.copyOf(TorchWeights.torchParameters(new ConvNet()).keySet()));
    }

    @Test
    void loadedValuesEqualTheFileAndDjlNamesKeepOrdinals() throws Exception {
        Path file = TestSupport.caseDir("c2_lora_conv2d").resolve("base_model.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = new ConvNet();
            TorchWeights.load(block, file, manager);
            Map<String, NDArray> tensors = TorchWeights.readSafetensors(file, manager);
            assertEquals(List.of("01conv1_weight", "01conv1_bias", "03conv2_weight", "03conv2_bias",
                    "06head_weight", "06head_bias"), List.copyOf(block.getParameters().keys()));
            for (Map.Entry<String, Parameter> e : TorchWeights.torchParameters(block).entrySet()) {
                assertEquals(0f, TestSupport.maxAbsDiff(e.getValue().getArray(), tensors.get(e.getKey())), e.getKey());
            }
        }
    }

    @Test
    void readSafetensorsNamesArraysAndSkipsMetadata() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> adapter = TorchWeights.readSafetensors(
                    TestSupport.caseDir("a_lora_dummy").resolve("adapter_model.safetensors"), manager);
            assertEquals(List.of("linear.lora_A.weight", "linear.lora_B.weight"),
                    adapter.keySet().stream().sorted().toList());
            assertArrayEquals(new long[] {64, 10}, adapter.get("linear.lora_A.weight").getShape().getShape());
        }
    }

    @Test
    void strictLoadNamesMissingUnexpectedAndMisshapedKeys() throws Exception {
        Path file = TestSupport.caseDir("b1_lora_mlp").resolve("base_model.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> good = TorchWeights.readSafetensors(file, manager);

            Map<String, NDArray> missing = new LinkedHashMap<>(good);
            missing.remove("head.bias");
            assertLoadFails(missing, manager, "Missing key(s): [head.bias]");

            Map<String, NDArray> extra = new LinkedHashMap<>(good);
            extra.put("fc3.weight", manager.zeros(new Shape(2, 2)));
            assertLoadFails(extra, manager, "Unexpected key(s): [fc3.weight]");

            Map<String, NDArray> misshaped = new LinkedHashMap<>(good);
            misshaped.put("fc1.weight", manager.zeros(new Shape(32, 15)));
            assertLoadFails(misshaped, manager, "size mismatch for fc1.weight: copying a param with shape [32, 15]"
                    + " from checkpoint, the shape in current model is [32, 16]");
        }
    }

    private void assertLoadFails(Map<String, NDArray> tensors, NDManager manager, String expected) throws Exception {
        Path bad = tmp.resolve("bad.safetensors");
        SafetensorsWriter.write(bad, tensors);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchWeights.load(new Mlp(), bad, manager));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void parameterArraysStayOwnedAndSupportInPlaceMergeAndGradients() throws Exception {
        Path dir = TestSupport.caseDir("b1_lora_mlp");
        try (Model model = Model.newInstance("golden")) {
            Mlp block = new Mlp();
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            block.initialize(manager, DataType.FLOAT32, block.sampleInputShape());
            Parameter fc1 = TorchWeights.torchParameters(block).get("fc1.weight");
            NDArray arrayBefore = fc1.getArray();
            TorchWeights.load(block, dir.resolve("base_model.safetensors"), manager);
            assertSame(arrayBefore, fc1.getArray(), "load must write into the parameter's own array");
            assertTrue(fc1.getArray().hasGradient(), "parameters keep requires_grad after loading");

            NDArray input = TorchWeights.readSafetensors(dir.resolve("input.safetensors"), manager).get("input");
            ParameterStore ps = new ParameterStore(manager, false);
            NDArray base = block.forward(ps, new NDList(input), false).singletonOrThrow();

            // In-place "merge" of a delta into the weight, as a LoRA merge does, and its exact undo.
            NDArray delta = manager.ones(fc1.getArray().getShape()).mul(0.01f);
            fc1.getArray().addi(delta);
            NDArray merged = block.forward(ps, new NDList(input), false).singletonOrThrow();
            assertTrue(TestSupport.maxAbsDiff(merged, base) > 1e-3f, "in-place update must change the output");
            fc1.getArray().subi(delta);
            NDArray unmerged = block.forward(ps, new NDList(input), false).singletonOrThrow();
            assertTrue(TestSupport.maxAbsDiff(unmerged, base) < 1e-6f);

            // Gradients reach the loaded parameters.
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray out = block.forward(new ParameterStore(manager, false), new NDList(input), true)
                        .singletonOrThrow();
                collector.backward(out.square().mean());
            }
            float gradSum = fc1.getArray().getGradient().abs().sum().getFloat();
            assertTrue(gradSum > 0f, "fc1.weight gradient " + gradSum);
        }
    }
}

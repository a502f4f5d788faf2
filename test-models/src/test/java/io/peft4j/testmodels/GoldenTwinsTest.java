package io.peft4j.testmodels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Each twin with PEFT's base weights reproduces PEFT's adapter-disabled output. */
class GoldenTwinsTest {

    static java.util.List<String> cases() {
        return TestSupport.TWIN_CASES;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void twinReproducesDisabledOutput(String caseName) throws Exception {
        Path dir = TestSupport.caseDir(caseName);
        assertTrue(Files.isDirectory(dir), "golden case missing: " + dir.toAbsolutePath());
        String modelName = GoldenApp.readModelName(dir);
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = GoldenModels.build(modelName);
            TorchWeights.load(block, dir.resolve("base_model.safetensors"), manager);
            NDArray input = TorchWeights.readSafetensors(dir.resolve("input.safetensors"), manager).get("input");
            assertEquals(((TwinBlock) block).inputDataType(), input.getDataType());
            NDArray output = block.forward(new ParameterStore(manager, false), new NDList(input), false)
                    .singletonOrThrow();
            NDArray expected = TorchWeights.readSafetensors(dir.resolve("expected_output_disabled.safetensors"),
                    manager).get("output");
            float diff = TestSupport.maxAbsDiff(output, expected);
            System.out.printf(Locale.ROOT, "GoldenTwinsTest %-32s %-10s max|diff|=%.3g%n", caseName, modelName, diff);
            assertTrue(diff < 1e-5f, caseName + ": max |diff| " + diff);
        }
    }
}

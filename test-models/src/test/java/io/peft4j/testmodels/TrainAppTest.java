package io.peft4j.testmodels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link TrainApp} trains in both modes and its saved model loads in a plain JVM ({@link LoadSavedModelApp}). */
class TrainAppTest {

    private static final List<String> DJL_NAMES = List.of("01fc1_weight", "01fc1_bias", "03fc2_weight",
            "03fc2_bias", "05head_weight", "05head_bias");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"fit,adam,true", "manual,sgd,true", "fit,sgd,false", "manual,adam,false"})
    void lossFallsAndSavedModelLoads(String mode, String optimizer, boolean withBase) throws Exception {
        Path out = tmp.resolve(mode + "-" + optimizer);
        Path base = TestSupport.caseDir("b1_lora_mlp").resolve("base_model.safetensors");
        List<String> args = new ArrayList<>(List.of("--out", out.toString(), "--mode", mode, "--optimizer", optimizer,
                "--epochs", "2"));
        if (withBase) {
            args.addAll(List.of("--base", base.toString()));
        }
        List<Float> losses = TrainApp.run(new CliArgs(args.toArray(new String[0]), Set.of("--out", "--mode",
                "--optimizer", "--epochs", "--base"), Set.of()));

        List<String> lines = Files.readAllLines(out.resolve("loss.txt"));
        assertEquals(2, lines.size());
        float first = Float.parseFloat(lines.get(0));
        float second = Float.parseFloat(lines.get(1));
        assertEquals(losses, List.of(first, second));
        assertTrue(Float.isFinite(first) && second < first, mode + "/" + optimizer + " loss " + lines);

        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> before =
                    TorchWeights.readSafetensors(out.resolve("params_before.safetensors"), manager);
            Map<String, NDArray> after = TorchWeights.readSafetensors(out.resolve("params_after.safetensors"), manager);
            assertEquals(DJL_NAMES, List.copyOf(before.keySet()));
            assertEquals(DJL_NAMES, List.copyOf(after.keySet()));
            for (String name : DJL_NAMES) {
                assertTrue(TestSupport.maxAbsDiff(before.get(name), after.get(name)) > 0f, name + " did not train");
            }
            if (withBase) {
                Map<String, NDArray> golden = TorchWeights.readSafetensors(base, manager);
                assertEquals(0f, TestSupport.maxAbsDiff(before.get("01fc1_weight"), golden.get("fc1.weight")));
                assertEquals(0f, TestSupport.maxAbsDiff(before.get("05head_bias"), golden.get("head.bias")));
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("model").resolve("mlp-0002.params")));

        TestSupport.Forked load = TestSupport.fork(out, "io.peft4j.testmodels.LoadSavedModelApp",
                out.resolve("model").toString(), "--expect-params", out.resolve("params_after.safetensors").toString());
        assertEquals(0, load.exitCode, load.stderr);
        assertTrue(load.stdout.contains("LoadSavedModelApp: OK") && load.stdout.contains("compared=6"), load.stdout);
    }
}

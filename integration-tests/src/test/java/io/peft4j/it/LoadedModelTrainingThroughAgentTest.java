package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Regression: fine-tuning a model loaded with {@code Model.load} after it served a Predictor. DJL's
 * {@code PtModel.newTrainer} calls {@code block.freezeParameters(false)} on a loaded model, unfreezing every
 * parameter, the base weights too; the agent, which injected the adapter (and froze the base) when the Predictor
 * was created, must freeze the base again so that only the adapter trains. The application
 * ({@code src/test/resources/apps/io/peft4j/itapps/LoadedModelTrainApp.java}) uses DJL and test-models only.
 */
class LoadedModelTrainingThroughAgentTest {

    private static final String APP = "io.peft4j.itapps.LoadedModelTrainApp";

    @Test
    void predictorThenTrainerOnALoadedModelTrainsOnlyTheAdapter() throws IOException {
        Path caseDir = ItEnvironment.goldenCase("b1_lora_mlp");
        Path work = ItEnvironment.freshWorkDir("train-loaded-model");
        Path out = work.resolve("run");

        ForkedJvm.Result run = TestApps.application(APP)
                .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir)
                .args(caseDir, out)
                .run(work, "app");
        assertEquals(0, run.exitCode(), run::describe);
        assertTrue(run.stdout().contains("LoadedModelTrainApp: OK"), run::describe);

        Safetensors before = Safetensors.read(out.resolve("params_before.safetensors"));
        Safetensors after = Safetensors.read(out.resolve("params_after.safetensors"));
        List<String> base = before.names().stream().filter(n -> !isAdapter(n)).collect(Collectors.toList());
        List<String> adapter = before.names().stream().filter(n -> isAdapter(n)).collect(Collectors.toList());
        Map<String, Boolean> requiresGrad = requiresGrad(out.resolve("requires_grad.txt"));

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoErrors(run));
        checks.add(() -> TensorAssertions.assertClose(
                Safetensors.read(caseDir.resolve("expected_output.safetensors")).get("output"),
                Safetensors.read(out.resolve("output.safetensors")).get("output"), 1e-5,
                "Predictor output of the loaded model with b1's adapter"));
        checks.add(() -> assertEquals(new TreeSet<>(before.names()), new TreeSet<>(after.names()),
                "parameter names before/after training"));
        checks.add(() -> assertEquals(6, base.size(),
                () -> "base parameters of the MLP (fc1/fc2/head weight+bias) in params_before: " + before.names()));
        checks.add(() -> assertEquals(4, adapter.size(),
                () -> "LoRA parameters (fc1/fc2 lora_A/lora_B) in params_before: " + before.names()));
        for (String name : base) {
            checks.add(() -> TensorAssertions.assertBitIdentical(before.get(name), after.get(name),
                    "base parameter " + name + " after training the loaded model (DJL's newTrainer unfroze it)"));
            checks.add(() -> assertEquals(Boolean.FALSE, requiresGrad.get(name),
                    () -> "requiresGradient of base parameter " + name + " during training: " + requiresGrad));
        }
        for (String name : adapter) {
            checks.add(() -> assertTrue(TensorAssertions.differs(before.get(name), after.get(name)),
                    "adapter parameter " + name + " did not change during training"));
            checks.add(() -> assertEquals(Boolean.TRUE, requiresGrad.get(name),
                    () -> "requiresGradient of adapter parameter " + name + " during training: " + requiresGrad));
        }
        checks.add(() -> {
            List<Float> losses = Files.readAllLines(out.resolve("loss.txt"), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).map(Float::valueOf).collect(Collectors.toList());
            assertEquals(2, losses.size(), () -> "one loss per epoch in loss.txt: " + losses);
            assertTrue(losses.stream().allMatch(Float::isFinite), () -> "non-finite loss: " + losses);
            assertTrue(losses.get(1) < losses.get(0), () -> "loss did not fall: " + losses);
        });
        assertAll("training a loaded model after a Predictor", checks);
    }

    private static boolean isAdapter(String djlName) {
        return djlName.contains("lora_");
    }

    private static Map<String, Boolean> requiresGrad(Path file) throws IOException {
        Map<String, Boolean> map = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            int space = line.lastIndexOf(' ');
            if (space > 0) {
                map.put(line.substring(0, space), Boolean.valueOf(line.substring(space + 1)));
            }
        }
        return map;
    }
}

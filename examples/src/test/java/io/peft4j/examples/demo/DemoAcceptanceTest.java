package io.peft4j.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.examples.DigitSamples;
import io.peft4j.examples.LossCsv;
import io.peft4j.examples.ResultFile;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's acceptance checks on a short run: {@code demo.sh}'s steps in its order, 8 epochs each instead of 30 and
 * 20. The driver and the agent-free steps run in this JVM; the two steps under the agent run in forked JVMs with
 * {@code -javaagent:peft4j-agent.jar} and the application's own class path, exactly as {@code demo.sh} runs them.
 */
class DemoAcceptanceTest {

    private static final String EPOCHS = "8";
    private static final int RANK = 8;

    @TempDir
    Path dir;

    @Test
    void shortDemoRunPassesEveryAcceptanceCheck() throws Exception {
        DemoLayout layout = new DemoLayout(dir.resolve("out"));
        String root = layout.root().toString();
        CommandRun.driver("prepare", "--out", root, "--rank", String.valueOf(RANK), "--targets", "1,3", "--epochs",
                EPOCHS).expect(0);

        CommandRun.app("pretrain", "--out", root, "--epochs", EPOCHS).expect(0);
        Properties base = ResultFile.read(layout.base().resolve("pretrain.properties"));
        assertTrue(Double.parseDouble(base.getProperty("accuracy_original")) > 0.9, "base model on original digits");
        assertTrue(Double.parseDouble(base.getProperty("accuracy_shifted")) < 0.4, "base model on rotated digits");
        try (var files = Files.list(layout.base())) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().matches("digits-mlp-\\d{4}\\.params")));
        }

        String full = CommandRun.app("finetune", "--base", layout.base().toString(), "--out",
                layout.full().toString(), "--epochs", EPOCHS).expect(0).out();
        assertTrue(full.contains("epoch 8/8 ["), full);
        List<Double> losses = LossCsv.read(layout.full().resolve("loss.csv"));
        assertEquals(8, losses.size());
        assertTrue(losses.get(7) < losses.get(0), "loss should fall: " + losses);

        String agent = System.getProperty("peft4j.agent.jar");
        String lora = fork("lora", "-javaagent:" + agent + "=adapter=" + layout.adapterConfig() + ",save="
                + layout.loraAdapter(), "finetune", "--base", layout.base().toString(), "--out",
                layout.lora().toString(), "--epochs", EPOCHS);
        assertTrue(lora.contains("injected LORA adapter 'default' into '1' (Linear(64 -> 256)): r=8"), lora);
        fork("evaluate", "-javaagent:" + agent + "=adapter=" + layout.loraAdapter(), "evaluate", "--base",
                layout.base().toString(), "--out", layout.reloaded().toString());
        CommandRun.app("chart", "--lora", layout.lora().resolve("loss.csv").toString(), "--full",
                layout.full().resolve("loss.csv").toString(), "--out", layout.chart().toString()).expect(0);

        CommandRun report = CommandRun.driver("report", "--out", root).expect(0);
        System.out.println(report.out()); // the short run's numbers, in the test report
        JsonNode results = new ObjectMapper().readTree(layout.results().toFile());
        assertTrue(results.get("passed").asBoolean(), report.out());
        assertEquals(6, results.get("checks").size());
        results.get("checks").forEach(check -> assertTrue(check.get("passed").asBoolean(), check.toString()));
        assertEquals(6, report.out().split("\\[PASS]", -1).length - 1, report.out());
        assertFalse(report.out().contains("[FAIL]"), report.out());

        // Mlp 64-256-256-10: weights and biases; LoRA r on the Linear layers 1 (64 -> 256) and 3 (256 -> 256).
        int hidden = 256;
        long baseParams = (DigitSamples.PIXELS + 1L) * hidden + (hidden + 1L) * hidden
                + (hidden + 1L) * DigitSamples.CLASSES;
        long loraParams = (long) RANK * (DigitSamples.PIXELS + hidden) + (long) RANK * (hidden + hidden);
        // one trainable-share figure in the LoRA step: the agent's, in PEFT's print_trainable_parameters terms
        String peftLine = String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                loraParams, baseParams + loraParams, 100.0 * loraParams / (baseParams + loraParams));
        assertTrue(lora.contains(peftLine), peftLine + "\n" + lora);
        assertEquals(1, lora.lines().filter(l -> l.contains("trainable") && l.contains("%")).count(), lora);
        JsonNode runs = results.get("runs");
        assertEquals(baseParams, runs.get("full_finetune").get("trainable_params").asLong());
        assertEquals(baseParams, runs.get("full_finetune").get("all_params").asLong());
        assertEquals(loraParams, runs.get("lora_finetune").get("trainable_params").asLong());
        assertEquals(baseParams + loraParams, runs.get("lora_finetune").get("all_params").asLong());
        assertEquals(100.0 * loraParams / (baseParams + loraParams),
                runs.get("lora_finetune").get("trainable_percent").asDouble(), 1e-9);
        assertTrue(report.out().contains(String.format("%,d of %,d (%.4f%%)", loraParams, baseParams + loraParams,
                100.0 * loraParams / (baseParams + loraParams))), report.out());
        assertEquals(runs.get("lora_finetune").get("accuracy_shifted").asDouble(),
                runs.get("lora_reloaded").get("accuracy_shifted").asDouble(), AcceptanceChecks.RELOAD_TOLERANCE);
        assertEquals(new LoraSettings(RANK, 2.0 * RANK, List.of("1", "3")), LoraSettings.read(layout.loraAdapter()),
                "the adapter the agent saved has the config prepare wrote");
    }

    /** Runs the application in a new JVM with {@code jvmOption}, as demo.sh does; returns its output. */
    private String fork(String name, String jvmOption, String... args) throws Exception {
        String classpath = System.getProperty("peft4j.examples.classes") + File.pathSeparator
                + Files.readString(Path.of(System.getProperty("peft4j.examples.classpath.file"))).trim();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, jvmOption, "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1", "-cp", classpath, "io.peft4j.examples.DigitsDemo"));
        command.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            fail("step '" + name + "' did not finish in 10 minutes:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), "step '" + name + "' failed:\n" + output);
        return output;
    }
}

package io.peft4j.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.examples.ResultFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver without training: {@code prepare}'s option checks and config, and {@code report}'s checks on results
 * files written here, so that each check is seen to fail when its condition does not hold.
 */
class DemoDriverTest {

    @TempDir
    Path dir;

    @Test
    void prepareWritesPeftLoraConfigAndClearsOnlyTheDemosOldOutputs() throws Exception {
        DemoLayout layout = new DemoLayout(dir);
        Files.createDirectories(layout.full());
        Files.writeString(layout.full().resolve("results.properties"), "accuracy_after=0.99\n");
        Files.writeString(layout.results(), "{}");
        Files.createDirectories(layout.logs());
        Files.writeString(layout.logs().resolve("lora.log"), "an old run's output");
        Files.writeString(dir.resolve("notes.txt"), "mine");

        CommandRun run = CommandRun.driver("prepare", "--out", dir.toString(), "--rank", "4", "--targets", "1, 3,5")
                .expect(0);

        assertTrue(run.out().contains("LoRA r=4, lora_alpha=8 on modules [1,3,5]; 20 fine-tuning epochs, lr 0.002"),
                run.out());
        JsonNode config = new ObjectMapper().readTree(layout.adapterConfig().resolve("adapter_config.json").toFile());
        assertEquals("LORA", config.get("peft_type").asText());
        assertEquals(4, config.get("r").intValue());
        assertTrue(config.get("lora_alpha").isIntegralNumber(), "PEFT writes an int alpha as an int");
        assertEquals(8, config.get("lora_alpha").intValue());
        assertEquals("[\"1\",\"3\",\"5\"]", config.get("target_modules").toString());
        assertEquals(0.0, config.get("lora_dropout").doubleValue());
        assertEquals("none", config.get("bias").asText());
        assertFalse(Files.exists(layout.full()), "a stale result must not pass for a new one");
        assertFalse(Files.exists(layout.results()));
        assertFalse(Files.exists(layout.logs()));
        assertEquals("mine", Files.readString(dir.resolve("notes.txt")), "files the demo did not write stay");
    }

    @Test
    void prepareRejectsBadOptionsBeforeAnyTrainingNamingTheOption() {
        String out = dir.toString();
        assertUsage("--rank must be a positive integer, got 0", "--out", out, "--rank", "0");
        assertUsage("option --rank must be an integer, got 'eight'", "--out", out, "--rank", "eight");
        assertUsage("--alpha must be a positive number, got -1.0", "--out", out, "--alpha", "-1");
        assertUsage("--epochs must be a positive integer, got 0", "--out", out, "--epochs", "0");
        assertUsage("--lr must be a positive number, got NaN", "--out", out, "--lr", "NaN");
        assertUsage("--targets must be comma-separated module paths such as \"1,3\", got '1;3'", "--out", out,
                "--targets", "1;3");
        assertUsage("--targets must be comma-separated module paths such as \"1,3\", got '1,'", "--out", out,
                "--targets", "1,");
        assertUsage("--out must not contain ',' or '='", "--out", dir.resolve("a,b").toString());
        assertUsage("option --out is required", "--rank", "8");
        assertFalse(Files.exists(dir.resolve("adapter-config")), "nothing written on a usage error");
    }

    @Test
    void reportPassesGoodResultsAndFailsEachCheckWhoseConditionDoesNotHold() throws Exception {
        DemoLayout layout = new DemoLayout(dir);
        CommandRun.driver("prepare", "--out", dir.toString()).expect(0);
        writeResults(layout, 0.90, 0.90, 6_656); // (90 - 10) / (98 - 10) = 90.9% of the gain
        CommandRun good = CommandRun.driver("report", "--out", dir.toString(), "--elapsed", "42").expect(0);
        assertTrue(good.out().contains("LoRA reaches 90.9% of the full fine-tune's gain"), good.out());
        assertTrue(good.out().contains("total demo time: 42 s"), good.out());
        assertEquals(List.of(true, true, true, true, true, true), checks(layout));

        writeResults(layout, 0.80, 0.80, 6_656); // 70 / 88 = 79.5% of the gain
        CommandRun shortGain = CommandRun.driver("report", "--out", dir.toString()).expect(DemoDriver.CHECK_FAILED);
        assertTrue(shortGain.out().contains("[FAIL] LoRA reaches >= 90% of the full fine-tune's accuracy gain"
                + " (79.5%)"), shortGain.out());
        assertEquals(List.of(false, true, true, true, true, true), checks(layout));

        writeResults(layout, 0.90, 0.82, 20_000); // reload differs by 8 points; 20,000 of 105,002 = 19.0473%
        Files.delete(layout.loraAdapter().resolve("adapter_model.safetensors"));
        Files.writeString(layout.chart(), "not a png, just text");
        CommandRun broken = CommandRun.driver("report", "--out", dir.toString()).expect(DemoDriver.CHECK_FAILED);
        assertTrue(broken.out().contains("[FAIL] LoRA trains < 10% of the parameters: 20,000 of 105,002 (19.0473%)"),
                broken.out());
        assertEquals(List.of(true, false, true, false, false, false), checks(layout));
    }

    @Test
    void reportNamesTheMissingResultsFile() {
        CommandRun.driver("prepare", "--out", dir.toString()).expect(0);
        CommandRun run = CommandRun.driver("report", "--out", dir.toString()).expect(1);
        assertTrue(run.err().contains(dir.resolve("base/pretrain.properties") + ": missing: the step that writes it"
                + " did not run or failed"), run.err());
    }

    /** A run's files: base 10% -> full 98% on the shifted digits, LoRA {@code lora}, reloaded {@code reloaded}. */
    private static void writeResults(DemoLayout layout, double lora, double reloaded, long loraParams)
            throws Exception {
        long base = 85_002;
        Files.createDirectories(layout.base());
        ResultFile.write(layout.base().resolve("pretrain.properties"), Map.of("accuracy_shifted", 0.10,
                "accuracy_original", 0.97, "jvm_seconds", 5.0));
        fineTune(layout.full(), 0.98, base, base);
        fineTune(layout.lora(), lora, loraParams, base + loraParams);
        Files.createDirectories(layout.reloaded());
        ResultFile.write(layout.reloaded().resolve("results.properties"), Map.of("accuracy_shifted", reloaded,
                "accuracy_original", 0.9, "jvm_seconds", 2.0));
        Files.createDirectories(layout.loraAdapter());
        Files.writeString(layout.loraAdapter().resolve("adapter_config.json"), "{}");
        Files.write(layout.loraAdapter().resolve("adapter_model.safetensors"), new byte[100]);
        Files.write(layout.chart(), new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0});
    }

    private static void fineTune(Path dir, double accuracy, long trainable, long total) throws Exception {
        Files.createDirectories(dir);
        ResultFile.write(dir.resolve("results.properties"), Map.of("accuracy_after", accuracy,
                "accuracy_original_after", 0.9, "trainable_params", trainable, "total_params", total,
                "train_seconds", 1.5, "jvm_seconds", 3.0, "epochs", 20, "shift", "rotate90", "train_samples", 1347,
                "test_samples", 450));
    }

    private static List<Boolean> checks(DemoLayout layout) throws Exception {
        JsonNode results = new ObjectMapper().readTree(layout.results().toFile());
        List<Boolean> passed = new ArrayList<>();
        results.get("checks").forEach(check -> passed.add(check.get("passed").asBoolean()));
        assertEquals(!passed.contains(false), results.get("passed").asBoolean());
        return passed;
    }

    private static void assertUsage(String message, String... options) {
        List<String> args = new ArrayList<>(List.of("prepare"));
        args.addAll(List.of(options));
        CommandRun run = CommandRun.driver(args.toArray(String[]::new)).expect(2);
        assertTrue(run.err().contains(message), run.err());
    }
}

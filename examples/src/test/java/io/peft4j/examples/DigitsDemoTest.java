package io.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the demo's subcommands in-process, without the agent and on few epochs: pre-training learns the original
 * digits, fine-tuning (here: full fine-tuning) improves the shifted-domain accuracy, and the files the script relies
 * on are written. The agent path is exercised by {@code demo.sh}.
 */
class DigitsDemoTest {

    @TempDir
    Path dir;

    @Test
    void pretrainThenFinetuneImprovesShiftedAccuracyAndWritesFiles() throws Exception {
        String pretrained = run("pretrain", "--out", dir.toString(), "--epochs", "8");
        assertTrue(pretrained.contains("original-domain test accuracy: "), pretrained);
        Properties base = ResultFile.read(dir.resolve("base/pretrain.properties"));
        double original = Double.parseDouble(base.getProperty("accuracy_original"));
        double shifted = Double.parseDouble(base.getProperty("accuracy_shifted"));
        assertTrue(original > 0.9, "base model on original digits: " + original);
        assertTrue(shifted < 0.4, "base model on the shifted domain should be poor: " + shifted);
        try (var files = Files.list(dir.resolve("base"))) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().matches("digits-mlp-\\d{4}\\.params")));
        }

        Path full = dir.resolve("full");
        String finetuned = run("finetune", "--base", dir.toString(), "--out", full.toString(), "--epochs", "4");
        assertTrue(finetuned.contains("BEFORE fine-tuning") && finetuned.contains("AFTER fine-tuning"), finetuned);
        assertTrue(finetuned.contains("epoch 4/4 ["), finetuned);
        Properties results = ResultFile.read(full.resolve("results.properties"));
        double before = Double.parseDouble(results.getProperty("accuracy_before"));
        double after = Double.parseDouble(results.getProperty("accuracy_after"));
        assertEquals(shifted, before, 1e-9, "finetune starts from the saved base model");
        assertTrue(after > before + 0.3, "fine-tuning should help a lot: " + before + " -> " + after);
        assertEquals(results.getProperty("total_params"), results.getProperty("trainable_params"),
                "without the agent every parameter trains");
        List<Double> losses = LossCsv.read(full.resolve("loss.csv"));
        assertEquals(4, losses.size());
        assertTrue(losses.get(3) < losses.get(0), "loss should fall: " + losses);

        String evaluated = run("evaluate", "--base", dir.resolve("base").toString());
        assertTrue(evaluated.contains("shifted-domain (rotate90) test accuracy: "), evaluated);

        Path png = dir.resolve("loss.png");
        run("chart", "--lora", full.resolve("loss.csv").toString(), "--full", full.resolve("loss.csv").toString(),
                "--out", png.toString());
        assertTrue(Files.size(png) > 1000, "chart written");
    }

    @Test
    void usageErrorsExitWithTwo() {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(2, DigitsDemo.run(quiet, quiet));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "bogus"));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "finetune", "--base"));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "pretrain", "--out", "x", "--shift", "upside-down"));
    }

    private static String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = DigitsDemo.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), args);
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, String.join(" ", args) + " failed:\n" + text + err.toString(StandardCharsets.UTF_8));
        return text;
    }
}

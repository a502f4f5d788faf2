package io.peft4j.examples;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;

/**
 * {@code chart --lora FILE --full FILE --out PNG}: both runs' {@code loss.csv} as curves in one PNG. When a
 * {@code results.properties} written by {@code finetune} sits next to a CSV, its legend entry also shows the share
 * of trained parameters and the accuracy reached.
 */
final class ChartCommand {

    static final Set<String> OPTIONS = Set.of("--lora", "--full", "--out");

    private ChartCommand() {}

    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        Path lora = Paths.get(cli.require("--lora"));
        Path full = Paths.get(cli.require("--full"));
        Path png = Paths.get(cli.require("--out"));
        Properties loraResults = results(lora);
        String shift = loraResults.getProperty("shift", results(full).getProperty("shift", "shifted"));
        LossChart.render("Fine-tuning on " + shift + " digits: training loss per epoch",
                new LossChart.Curve(label("LoRA (peft4j agent)", loraResults), LossCsv.read(lora)),
                new LossChart.Curve(label("Full fine-tune (no agent)", results(full)), LossCsv.read(full)), png);
        out.println("wrote " + png);
        return 0;
    }

    private static Properties results(Path lossCsv) throws java.io.IOException {
        Path parent = lossCsv.toAbsolutePath().getParent();
        Path file = parent == null ? null : parent.resolve("results.properties");
        return file != null && Files.isRegularFile(file) ? ResultFile.read(file) : new Properties();
    }

    private static String label(String name, Properties results) {
        String percent = results.getProperty("trainable_percent");
        String accuracy = results.getProperty("accuracy_after");
        if (percent == null || accuracy == null) {
            return name;
        }
        return String.format(Locale.ROOT, "%s: %.4f%% of parameters trained, %.1f%% test accuracy", name,
                Double.parseDouble(percent), 100 * Double.parseDouble(accuracy));
    }
}

package io.peft4j.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code finetune --base DIR --out DIR [--epochs N] [--lr X] [--batch N] [--seed N] [--shift mirror|rotate90]}:
 * loads the base model, creates an ordinary DJL Trainer, measures the starting accuracy on the shifted test set,
 * fine-tunes on the shifted training set, measures again (also on the original domain), and writes
 * {@code OUT/loss.csv} and {@code OUT/results.properties}.
 *
 * <p>The code has no idea of adapters. Without an agent every weight is trained (full fine-tuning); under
 * {@code -javaagent:peft4j-agent.jar=adapter=...} the base weights are frozen and only the adapter trains, which the
 * printed trainable-parameter count shows.
 */
final class FinetuneCommand {

    static final Set<String> OPTIONS = Set.of("--base", "--out", "--epochs", "--lr", "--batch", "--seed", "--shift");

    private FinetuneCommand() {}

    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        Path baseDir = DigitsModel.locate(Paths.get(cli.require("--base")));
        Path outDir = Paths.get(cli.require("--out"));
        int epochs = cli.getInt("--epochs", Defaults.FINETUNE_EPOCHS);
        float lr = cli.getFloat("--lr", Defaults.FINETUNE_LR);
        int batch = cli.getInt("--batch", Defaults.BATCH);
        DomainShift shift = DomainShift.parse(cli.get("--shift", Defaults.SHIFT));
        Engine.getInstance().setRandomSeed(cli.getInt("--seed", Defaults.SEED));
        Files.createDirectories(outDir);

        TrainTestSplit original = DigitsData.split();
        TrainTestSplit shifted = original.shifted(shift);
        String domain = shift.cliName();
        try (Model model = DigitsModel.load(baseDir)) {
            out.println("loaded base model from " + baseDir);
            out.printf(Locale.ROOT, "fine-tuning on %d %s digits: %d epochs, lr %s, batch %d%n",
                    shifted.train().size(), domain, epochs, lr, batch);
            Accuracy[] before = new Accuracy[1];
            TrainingRun.Outcome outcome = TrainingRun.fit(model, shifted.train(), epochs, lr, batch, out, () -> {
                before[0] = Accuracy.measure(model, shifted.test());
                out.println("BEFORE fine-tuning: shifted-domain (" + domain + ") test accuracy " + before[0]);
            });
            Accuracy after = Accuracy.measure(model, shifted.test());
            Accuracy originalAfter = Accuracy.measure(model, original.test());
            out.println("AFTER fine-tuning:  shifted-domain (" + domain + ") test accuracy " + after);
            out.println("                    original-domain test accuracy " + originalAfter);
            out.printf(Locale.ROOT, "fine-tuning wall time: %.2f s%n", outcome.seconds());

            LossCsv.write(outDir.resolve("loss.csv"), outcome.losses());
            Map<String, Object> results = new LinkedHashMap<>();
            results.put("accuracy_before", before[0].fraction());
            results.put("accuracy_after", after.fraction());
            results.put("accuracy_original_after", originalAfter.fraction());
            results.put("trainable_params", outcome.parameters().trainable());
            results.put("total_params", outcome.parameters().total());
            results.put("trainable_percent", outcome.parameters().trainablePercent());
            results.put("train_seconds", outcome.seconds());
            results.put("jvm_seconds", ResultFile.jvmSeconds());
            results.put("epochs", epochs);
            results.put("lr", lr);
            results.put("shift", shift.cliName());
            results.put("train_samples", shifted.train().size());
            results.put("test_samples", shifted.test().size());
            ResultFile.write(outDir.resolve("results.properties"), results);
            out.println("wrote " + outDir.resolve("loss.csv") + " and " + outDir.resolve("results.properties"));
        }
        return 0;
    }
}

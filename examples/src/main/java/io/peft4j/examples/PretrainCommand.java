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
 * {@code pretrain --out DIR [--epochs N] [--lr X] [--batch N] [--seed N] [--shift mirror|rotate90]}: trains the base
 * classifier on the original digits, saves it with {@code model.save(DIR/base, "digits-mlp")} and reports its
 * accuracy on the original and on the shifted test set (also in {@code DIR/base/pretrain.properties}).
 */
final class PretrainCommand {

    static final Set<String> OPTIONS = Set.of("--out", "--epochs", "--lr", "--batch", "--seed", "--shift");

    private PretrainCommand() {}

    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        Path dir = Paths.get(cli.require("--out"));
        int epochs = cli.getInt("--epochs", Defaults.PRETRAIN_EPOCHS);
        float lr = cli.getFloat("--lr", Defaults.PRETRAIN_LR);
        int batch = cli.getInt("--batch", Defaults.BATCH);
        DomainShift shift = DomainShift.parse(cli.get("--shift", Defaults.SHIFT));
        Engine.getInstance().setRandomSeed(cli.getInt("--seed", Defaults.SEED));

        TrainTestSplit original = DigitsData.split();
        TrainTestSplit shifted = original.shifted(shift);
        Path baseDir = dir.resolve("base");
        Files.createDirectories(baseDir);
        out.printf(Locale.ROOT, "pre-training %s %s on %d original digits: %d epochs, lr %s, batch %d%n",
                DigitsModel.NAME, java.util.Arrays.toString(DigitsModel.HIDDEN), original.train().size(), epochs,
                lr, batch);
        try (Model model = DigitsModel.create()) {
            TrainingRun.Outcome outcome = TrainingRun.fit(model, original.train(), epochs, lr, batch, out, () -> { });
            model.setProperty("Epoch", String.valueOf(epochs));
            model.save(baseDir, DigitsModel.NAME);
            Accuracy onOriginal = Accuracy.measure(model, original.test());
            Accuracy onShifted = Accuracy.measure(model, shifted.test());
            out.printf(Locale.ROOT, "pre-training took %.1f s%n", outcome.seconds());
            out.println("original-domain test accuracy: " + onOriginal);
            out.println("shifted-domain (" + shift.cliName() + ") test accuracy: " + onShifted);
            out.println("saved base model to " + baseDir);
            Map<String, Object> results = new LinkedHashMap<>();
            results.put("accuracy_original", onOriginal.fraction());
            results.put("accuracy_shifted", onShifted.fraction());
            results.put("shift", shift.cliName());
            results.put("epochs", epochs);
            results.put("seconds", outcome.seconds());
            results.put("jvm_seconds", ResultFile.jvmSeconds());
            ResultFile.write(baseDir.resolve("pretrain.properties"), results);
        }
        return 0;
    }
}

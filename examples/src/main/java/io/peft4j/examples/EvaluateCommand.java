package io.peft4j.examples;

import ai.djl.Model;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code evaluate --base DIR [--out DIR] [--shift mirror|rotate90]}: loads the base model and prints its accuracy on
 * the shifted and on the original test set; with {@code --out} also writes them to {@code OUT/results.properties}.
 * Under the agent with {@code adapter=<a saved adapter>} this shows, in a fresh JVM, what the saved adapter does to the
 * unmodified base model.
 */
final class EvaluateCommand {

    static final Set<String> OPTIONS = Set.of("--base", "--out", "--shift");

    private EvaluateCommand() {}

    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        Path baseDir = DigitsModel.locate(Paths.get(cli.require("--base")));
        String outDir = cli.get("--out", null);
        DomainShift shift = DomainShift.parse(cli.get("--shift", Defaults.SHIFT));
        TrainTestSplit original = DigitsData.split();
        try (Model model = DigitsModel.load(baseDir)) {
            Accuracy onShifted = Accuracy.measure(model, original.shifted(shift).test());
            Accuracy onOriginal = Accuracy.measure(model, original.test());
            out.println("loaded base model from " + baseDir);
            out.println("shifted-domain (" + shift.cliName() + ") test accuracy: " + onShifted);
            out.println("original-domain test accuracy: " + onOriginal);
            if (outDir != null) {
                Path file = Files.createDirectories(Paths.get(outDir)).resolve("results.properties");
                Map<String, Object> results = new LinkedHashMap<>();
                results.put("accuracy_shifted", onShifted.fraction());
                results.put("accuracy_original", onOriginal.fraction());
                results.put("shift", shift.cliName());
                results.put("jvm_seconds", ResultFile.jvmSeconds());
                ResultFile.write(file, results);
                out.println("wrote " + file);
            }
        }
        return 0;
    }
}

package io.peft4j.examples.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.examples.CliOptions;
import io.peft4j.examples.DigitSamples;
import io.peft4j.examples.DigitsModel;
import io.peft4j.examples.ParameterCount;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * {@code report --out DIR [--elapsed SECONDS]}: reads what the demo's steps wrote under {@code DIR}, prints the summary
 * (accuracies, gains, trainable parameters, wall times, artifacts), runs the {@link AcceptanceChecks} and writes all
 * of it to {@code DIR/results.json}. {@code --elapsed} is the whole demo's wall time so far, as {@code demo.sh}
 * measured it.
 */
final class ReportCommand {

    static final Set<String> OPTIONS = Set.of("--out", "--elapsed");

    private static final String ROW = "%-36s %16s %16s   %-28s %10s %8s%n";

    private ReportCommand() {}

    /** Returns 0 when every check passed, else {@link DemoDriver#CHECK_FAILED}. */
    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        DemoLayout layout = new DemoLayout(Path.of(cli.require("--out")).toAbsolutePath().normalize());
        double elapsed = cli.getDouble("--elapsed", Double.NaN);
        DemoResults r = DemoResults.read(layout);
        List<AcceptanceChecks.Check> checks = AcceptanceChecks.evaluate(r);
        print(r, checks, layout, elapsed, out);
        write(r, checks, elapsed, layout.results());
        return checks.stream().allMatch(AcceptanceChecks.Check::passed) ? 0 : DemoDriver.CHECK_FAILED;
    }

    private static void print(DemoResults r, List<AcceptanceChecks.Check> checks, DemoLayout layout, double elapsed,
            PrintStream out) {
        String rule = "=".repeat(50);
        out.println(rule + " peft4j demo: summary " + rule);
        out.printf(Locale.ROOT, "DJL Mlp %s pre-trained on original 8x8 digits, fine-tuned on %s digits (%d train /"
                + " %d test samples);%n", layers(), r.shift(), r.trainSamples(), r.testSamples());
        out.printf(Locale.ROOT, "LoRA r=%d, lora_alpha=%s on modules [%s]; %d epochs for both fine-tunes.%n%n",
                r.lora().rank(), PrepareCommand.number(r.lora().alpha()), String.join(",", r.lora().targets()),
                r.epochs());
        out.printf(ROW, "", r.shift() + " acc.", "original acc.", "trainable parameters", "training", "JVM");
        row(out, "base model (no fine-tuning)", r.base());
        row(out, "full fine-tune (no agent)", r.full());
        row(out, "LoRA fine-tune (agent)", r.loraRun());
        row(out, "saved adapter, fresh JVM (agent)", r.reloaded());
        out.println("(trainable parameters: those the Trainer updates, of all the model's parameters, the adapter's"
                + " included:");
        out.println(" the trainable% of PEFT's print_trainable_parameters)");
        out.println();
        out.printf(Locale.ROOT, "accuracy gain on %s digits: full fine-tune %+.2f points, LoRA %+.2f points%n",
                r.shift(), r.gainPoints(r.full()), r.gainPoints(r.loraRun()));
        double share = r.loraShareOfGain();
        out.println("  => LoRA reaches " + (Double.isNaN(share) ? "n/a" : String.format(Locale.ROOT, "%.1f%%",
                100 * share)) + " of the full fine-tune's gain");
        out.println();
        out.println("checks:");
        for (AcceptanceChecks.Check check : checks) {
            out.println("  [" + (check.passed() ? "PASS" : "FAIL") + "] " + check.description());
        }
        out.println();
        out.println("artifacts:");
        out.printf(Locale.ROOT, "  LoRA adapter (PEFT format):  %s/  (%s, %s)%n", layout.loraAdapter(),
                String.join(" ", r.adapterFiles()), kib(r.adapterBytes()));
        out.printf(Locale.ROOT, "  base model (unchanged):      %s/  (%s; full fine-tuning needs a whole new copy of"
                + " it)%n", layout.base(), kib(r.baseBytes()));
        out.println("  loss curves:                 " + layout.chart());
        out.println("  per-epoch losses:            " + layout.full().resolve("loss.csv") + ", "
                + layout.lora().resolve("loss.csv"));
        out.println("  every number and check:      " + layout.results());
        out.println("  logs:                        " + layout.logs() + "/");
        if (!Double.isNaN(elapsed)) {
            out.printf(Locale.ROOT, "total demo time: %.0f s%n", elapsed);
        }
    }

    private static String layers() {
        return IntStream.concat(IntStream.of(DigitSamples.PIXELS), IntStream.concat(Arrays.stream(DigitsModel.HIDDEN),
                IntStream.of(DigitSamples.CLASSES))).mapToObj(String::valueOf).collect(Collectors.joining("-"));
    }

    private static void row(PrintStream out, String label, DemoResults.Stage stage) {
        out.printf(ROW, label, percent(stage.shiftedAccuracy()), percent(stage.originalAccuracy()),
                stage.parameters() == null ? "-" : stage.parameters().toString(),
                stage.trainSeconds() == null ? "-" : String.format(Locale.ROOT, "%.1f s", stage.trainSeconds()),
                String.format(Locale.ROOT, "%.1f s", stage.jvmSeconds()));
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }

    private static String kib(long bytes) {
        return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }

    private static void write(DemoResults r, List<AcceptanceChecks.Check> checks, double elapsed, Path file)
            throws java.io.IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode lora = root.putObject("lora");
        lora.put("r", r.lora().rank());
        double alpha = r.lora().alpha();
        if (alpha == Math.rint(alpha)) {
            lora.put("lora_alpha", (long) alpha);
        } else {
            lora.put("lora_alpha", alpha);
        }
        r.lora().targets().forEach(lora.putArray("target_modules")::add);
        root.put("shift", r.shift());
        root.put("epochs", r.epochs());
        root.put("train_samples", r.trainSamples());
        root.put("test_samples", r.testSamples());
        ObjectNode runs = root.putObject("runs");
        stage(runs.putObject("base"), r.base());
        stage(runs.putObject("full_finetune"), r.full());
        stage(runs.putObject("lora_finetune"), r.loraRun());
        stage(runs.putObject("lora_reloaded"), r.reloaded());
        root.put("full_gain_points", r.gainPoints(r.full()));
        root.put("lora_gain_points", r.gainPoints(r.loraRun()));
        root.put("lora_share_of_gain", r.loraShareOfGain());
        root.put("adapter_bytes", r.adapterBytes());
        root.put("base_model_bytes", r.baseBytes());
        if (!Double.isNaN(elapsed)) {
            root.put("demo_seconds", elapsed);
        }
        ArrayNode list = root.putArray("checks");
        for (AcceptanceChecks.Check check : checks) {
            list.addObject().put("check", check.description()).put("passed", check.passed());
        }
        root.put("passed", checks.stream().allMatch(AcceptanceChecks.Check::passed));
        mapper.writeValue(file.toFile(), root);
    }

    private static void stage(ObjectNode node, DemoResults.Stage stage) {
        node.put("accuracy_shifted", stage.shiftedAccuracy());
        node.put("accuracy_original", stage.originalAccuracy());
        ParameterCount parameters = stage.parameters();
        if (parameters != null) {
            node.put("trainable_params", parameters.trainable());
            node.put("all_params", parameters.total());
            node.put("trainable_percent", parameters.trainablePercent());
        }
        if (stage.trainSeconds() != null) {
            node.put("train_seconds", stage.trainSeconds());
        }
        node.put("jvm_seconds", stage.jvmSeconds());
    }
}

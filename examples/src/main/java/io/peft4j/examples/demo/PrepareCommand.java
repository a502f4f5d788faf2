package io.peft4j.examples.demo;

import io.peft4j.examples.CliOptions;
import io.peft4j.examples.Defaults;
import io.peft4j.examples.UsageException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code prepare --out DIR [--rank R] [--alpha A] [--targets LIST] [--epochs N] [--lr X]}: checks the demo's options
 * before any training starts, clears what an earlier run left in {@code DIR}, and writes
 * {@code DIR/adapter-config/adapter_config.json} with peft4j's {@code LoraConfig} builder. {@code --epochs} and
 * {@code --lr} are only checked here: {@code demo.sh} passes them on to both fine-tuning runs.
 */
final class PrepareCommand {

    static final Set<String> OPTIONS = Set.of("--out", "--rank", "--alpha", "--targets", "--epochs", "--lr");

    /** The first two Linear layers of DJL's {@code Mlp}: children 1 and 3 of 0 flatten, 1 Linear, 2 ReLU, ... */
    static final String DEFAULT_TARGETS = "1,3";

    static final int DEFAULT_RANK = 8;

    private static final Pattern MODULE_PATH = Pattern.compile("[A-Za-z0-9_.]+");

    private PrepareCommand() {}

    static int run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        String outText = cli.require("--out");
        // The agent's options are comma-separated key=value pairs: adapter=OUT/adapter-config,save=OUT/lora-adapter.
        if (outText.contains(",") || outText.contains("=")) {
            throw new UsageException("--out must not contain ',' or '=' (it ends up in the agent's options), got '"
                    + outText + "'");
        }
        int rank = positive(cli.getInt("--rank", DEFAULT_RANK), "--rank");
        double alpha = positive(cli.getDouble("--alpha", 2.0 * rank), "--alpha");
        List<String> targets = targets(cli.get("--targets", DEFAULT_TARGETS));
        int epochs = positive(cli.getInt("--epochs", Defaults.FINETUNE_EPOCHS), "--epochs");
        positive(cli.getDouble("--lr", Defaults.FINETUNE_LR), "--lr");
        String lr = cli.get("--lr", String.valueOf(Defaults.FINETUNE_LR));

        DemoLayout layout = new DemoLayout(Path.of(outText).toAbsolutePath().normalize());
        Files.createDirectories(layout.root());
        layout.clean();
        LoraSettings lora = new LoraSettings(rank, alpha, targets);
        Path file = lora.write(layout.adapterConfig());
        out.printf(Locale.ROOT, "=== prepare: LoRA r=%d, lora_alpha=%s on modules [%s]; %d fine-tuning epochs, lr %s%n",
                rank, number(alpha), String.join(",", targets), epochs, lr);
        out.println("adapter config (peft4j's LoraConfig builder; PEFT 0.20's format and defaults): " + file);
        return 0;
    }

    private static List<String> targets(String text) {
        List<String> names = Arrays.stream(text.split(",", -1)).map(String::trim).toList();
        if (names.stream().anyMatch(name -> !MODULE_PATH.matcher(name).matches())) {
            throw new UsageException("--targets must be comma-separated module paths such as \"1,3\", got '" + text
                    + "'");
        }
        return names;
    }

    private static int positive(int value, String option) {
        if (value <= 0) {
            throw new UsageException(option + " must be a positive integer, got " + value);
        }
        return value;
    }

    private static double positive(double value, String option) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new UsageException(option + " must be a positive number, got " + value);
        }
        return value;
    }

    /** {@code 16} for an integral value, else the shortest decimal form. */
    static String number(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }
}

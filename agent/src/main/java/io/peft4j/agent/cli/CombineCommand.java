package io.peft4j.agent.cli;

import io.peft4j.lora.AdapterCombiner;
import io.peft4j.lora.Combination;
import io.peft4j.lora.CombineOptions;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code combine --adapter DIR_A --adapter DIR_B --weights 0.7,0.3 --type ties --density 0.5 --out DIR}: PEFT's
 * {@code add_weighted_adapter} on adapter directories, offline (no model, no JVM to attach to): writes the combined
 * LoRA adapter as PEFT would save it, ready to load anywhere.
 */
final class CombineCommand implements Cli.Command {

    /** Flags that set a {@link CombineOptions} field, by PEFT's argument name. */
    private static final Map<String, String> OPTION_KEYS = Map.of("--density", "density", "--majority-sign",
            "majority_sign_method", "--svd-rank", "svd_rank", "--svd-clamp", "svd_clamp", "--seed", "seed");

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar combine --adapter DIR --adapter DIR [--adapter DIR...]",
                "           --weights W1,W2[,...] --out DIR [--type TYPE] [--density D]",
                "           [--majority-sign total|frequency]",
                "           [--svd-rank N] [--svd-clamp Q] [--seed S]",
                "",
                "PEFT 0.20's add_weighted_adapter on LoRA adapter directories, without a model: writes",
                "DIR/adapter_config.json (the first adapter's config with r = lora_alpha = the new rank and the union",
                "of target_modules) and DIR/adapter_model.safetensors (float32 factors).",
                "",
                "  --type         svd (PEFT's default), linear, cat, ties, ties_svd, dare_linear, dare_linear_svd,",
                "                 dare_ties, dare_ties_svd, magnitude_prune, magnitude_prune_svd",
                "  --density      fraction of entries kept by ties, dare_* and magnitude_prune (required by them)",
                "  --majority-sign  TIES' sign election: total (default) or frequency",
                "  --svd-rank     rank of an _svd combination (default: the largest input rank)",
                "  --svd-clamp    quantile at which the SVD factors are clamped",
                "  --seed         seed of DARE's random pruning (default: drawn and printed)",
                "",
                "DoRA adapters and adapters with modules_to_save need the base model: combine them in the",
                "application (Peft.addWeightedAdapter, or jmx <pid> combine).");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        List<Path> dirs = new ArrayList<>();
        List<Double> weights = null;
        Path target = null;
        Combination combination = Combination.SVD;
        CombineOptions options = CombineOptions.DEFAULTS;
        for (int i = 0; i < args.size(); i++) {
            String flag = args.get(i);
            if (i + 1 >= args.size()) {
                throw new UsageException(flag.startsWith("--") ? flag + " needs a value" : "unexpected '" + flag
                        + "'", usage());
            }
            String value = args.get(++i);
            try {
                switch (flag) {
                    case "--adapter":
                        dirs.add(Path.of(value).toAbsolutePath().normalize());
                        break;
                    case "--weights":
                        weights = new ArrayList<>();
                        for (String w : value.split(",")) {
                            weights.add(Double.valueOf(w.trim()));
                        }
                        break;
                    case "--out":
                        target = Path.of(value).toAbsolutePath().normalize();
                        break;
                    case "--type":
                        combination = Combination.ofPeftName(value);
                        break;
                    default:
                        String key = OPTION_KEYS.get(flag);
                        if (key == null) {
                            throw new UsageException("unknown option '" + flag + "'", usage());
                        }
                        options = options.with(key, value);
                }
            } catch (NumberFormatException e) {
                throw new UsageException(flag + ": '" + value + "' is not a number", usage());
            } catch (IllegalArgumentException e) {
                throw new UsageException(flag + ": " + e.getMessage(), usage());
            }
        }
        if (dirs.isEmpty()) {
            throw new UsageException("missing --adapter DIR", usage());
        }
        if (weights == null) {
            throw new UsageException("missing --weights (one per adapter, e.g. 0.7,0.3)", usage());
        }
        if (target == null) {
            throw new UsageException("missing --out DIR", usage());
        }
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                throw new CommandFailure("adapter directory " + dir + " does not exist");
            }
        }
        if (Files.exists(target.resolve("adapter_config.json"))
                || Files.exists(target.resolve("adapter_model.safetensors"))) {
            throw new CommandFailure(target + " already holds an adapter; choose an empty or new --out directory");
        }
        AdapterCombiner.Result result;
        try {
            result = AdapterCombiner.combine(dirs, weights, combination, options, target);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new CommandFailure(e.getMessage());
        } catch (RuntimeException e) {
            throw new CommandFailure(e.getMessage() != null ? e.getMessage() : e.toString());
        }
        out.println("combined " + dirs + " with weights " + weights + ": " + result.description());
        out.println("modules: " + String.join(", ", result.modules()));
        for (Path file : result.files()) {
            out.println("wrote " + file);
        }
    }
}

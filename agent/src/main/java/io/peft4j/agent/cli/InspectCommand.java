package io.peft4j.agent.cli;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.io.SafetensorsHeader;
import io.peft4j.io.TensorEntry;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code inspect DIR}: what an adapter directory holds, as peft4j reads it: the config summary (after PEFT's
 * validation, so a broken config shows PEFT's message) and every tensor of {@code adapter_model.safetensors} with its
 * dtype and shape.
 */
final class InspectCommand implements Cli.Command {

    /** Config keys shown in the summary, when present and not null. */
    private static final List<String> SUMMARY_KEYS = List.of("task_type", "base_model_name_or_path", "r",
            "lora_alpha", "lora_dropout", "use_rslora", "bias", "init_lora_weights", "init_r", "target_r",
            "target_modules", "exclude_modules", "feedforward_modules", "modules_to_save", "layers_to_transform",
            "layers_pattern", "rank_pattern", "alpha_pattern", "inference_mode");

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar inspect <dir>",
                "",
                "Prints the adapter in <dir> as peft4j reads it: adapter_config.json (validated as PEFT 0.20 does",
                "when it builds the config and injects it into a model without a Transformers model_type, as the",
                "agent does at launch) and the name, dtype and shape of every tensor in adapter_model.safetensors.",
                "Warnings (unknown keys, with the key they probably meant) go to standard error; an invalid",
                "config exits with status 1 and says what is wrong.");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        if (args.size() != 1) {
            throw new UsageException(args.isEmpty() ? "missing <dir>" : "expected one <dir>, got " + args, usage());
        }
        Path dir = Path.of(args.get(0)).toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new CommandFailure("adapter directory " + dir + " does not exist");
        }
        AdapterConfig config;
        try {
            config = AdapterConfigs.readForInjection(dir);
        } catch (RuntimeException e) {
            throw new CommandFailure("adapter directory " + dir + ": " + e.getMessage());
        }
        out.println("adapter directory " + dir);
        out.println("config: " + dir.resolve(AdapterConfigs.CONFIG_NAME));
        out.println("  peft_type: " + config.peftType().jsonName());
        for (String key : SUMMARY_KEYS) {
            Object v = config.jsonValue(key);
            if (v != null && !(v instanceof Map && ((Map<?, ?>) v).isEmpty())) {
                out.println("  " + key + ": " + v);
            }
        }
        Path weights = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(weights)) {
            out.println("weights: none (no adapter_model.safetensors: the adapter starts from its initialisation)");
            return;
        }
        List<String[]> tensors;
        try {
            tensors = tensors(weights);
            tensors.sort((a, b) -> a[0].compareTo(b[0]));
        } catch (IOException | RuntimeException e) {
            throw new CommandFailure("cannot read " + weights + ": " + e.getMessage(), e);
        }
        long total = 0;
        for (String[] t : tensors) {
            total += Long.parseLong(t[3]);
        }
        out.println("weights: " + weights + " (" + tensors.size() + " tensors, " + total + " parameters)");
        int width = 0;
        for (String[] t : tensors) {
            width = Math.max(width, t[0].length());
        }
        for (String[] t : tensors) {
            out.println(String.format("  %-" + width + "s  %-4s  %s", t[0], t[1], t[2]));
        }
    }

    /** Name, dtype, shape and element count of every tensor, from the header alone (no DJL, no data read). */
    private static List<String[]> tensors(Path file) throws IOException {
        List<String[]> out = new ArrayList<>();
        for (TensorEntry t : SafetensorsHeader.read(file).tensors()) {
            out.add(new String[] {t.name(), t.dtype().name(), Arrays.toString(t.shape()), Long.toString(t.numel())});
        }
        return out;
    }
}

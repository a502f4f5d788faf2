package io.peft4j.examples.demo;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.lora.LoraConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * The demo's LoRA hyper-parameters, kept in a Hugging Face PEFT {@code adapter_config.json} written and read with
 * peft4j's config classes (everything else at PEFT 0.20's defaults: no dropout, {@code bias="none"}).
 *
 * @param rank {@code r}
 * @param alpha {@code lora_alpha}; the adapter's output is scaled by {@code alpha / rank}
 * @param targets {@code target_modules}: module paths of the application's model, such as {@code 1} and {@code 3}
 */
record LoraSettings(int rank, double alpha, List<String> targets) {

    LoraSettings {
        targets = List.copyOf(targets);
    }

    /** Writes {@code dir/adapter_config.json} and returns the file. */
    Path write(Path dir) {
        LoraConfig.Builder builder = LoraConfig.builder().r(rank).targetModules(targets);
        if (alpha == Math.rint(alpha)) {
            builder.loraAlpha((int) alpha); // written as PEFT writes an int: 16, not 16.0
        } else {
            builder.loraAlpha(alpha);
        }
        AdapterConfigs.write(builder.build(), dir);
        return dir.resolve(AdapterConfigs.CONFIG_NAME);
    }

    /**
     * Reads the settings from an adapter directory.
     *
     * @throws IllegalStateException if the config is not a LoRA config with a list of target modules
     */
    static LoraSettings read(Path dir) {
        AdapterConfig config = AdapterConfigs.read(dir);
        if (!(config instanceof LoraConfig lora) || config.targetModules() == null
                || config.targetModules().isRegex()) {
            throw new IllegalStateException(config.source() + ": not a LoRA config with a list of target_modules, "
                    + "as the demo writes it");
        }
        return new LoraSettings(lora.r(), lora.loraAlpha(), config.targetModules().names());
    }
}

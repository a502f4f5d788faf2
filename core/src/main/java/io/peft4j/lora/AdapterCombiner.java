package io.peft4j.lora;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code add_weighted_adapter} on adapter directories, without a model: reads PEFT adapter directories, combines their
 * LoRA factors module by module ({@link CombinationPlan}, the same code as the Java API) and writes the combined
 * adapter as PEFT would save it ({@code adapter_config.json} with {@code r = lora_alpha = new rank},
 * {@code adapter_model.safetensors} with float32 factors). Used by {@code java -jar peft4j-agent.jar combine}.
 *
 * <p>What needs the base model's weights is refused with a message: DoRA (the new magnitude is the base weight's
 * norm) and {@code modules_to_save} (PEFT copies the base module). Combine those in a live JVM (Java API or JMX).
 */
public final class AdapterCombiner {

    /** The prefix {@code PeftModel.save_pretrained} puts before every key. */
    private static final String SAVED_PREFIX = "base_model.model.";
    private static final String[][] FACTOR_KEYS = {
        {".lora_A.weight", ".lora_B.weight"},
        {".lora_embedding_A", ".lora_embedding_B"},
    };

    private AdapterCombiner() {}

    /** What {@link #combine} wrote. */
    public record Result(AdapterConfig config, List<String> modules, String description, List<Path> files) {}

    /**
     * Combines the adapters in {@code dirs} with {@code weights} and writes the result to {@code out}.
     *
     * @throws IllegalArgumentException with PEFT's message, or naming the directory, file and key at fault
     */
    public static Result combine(List<Path> dirs, List<Double> weights, Combination combination,
            CombineOptions options, Path out) {
        List<String> names = new ArrayList<>();
        List<AdapterConfig> configs = new ArrayList<>();
        for (Path dir : dirs) {
            names.add(dir.toString());
            configs.add(AdapterConfigs.read(dir));
        }
        CombinationPlan plan = CombinationPlan.of(names, configs, weights, combination, options);
        List<Map<String, LoraFactors>> factors = new ArrayList<>();
        List<String> modules = new ArrayList<>();
        boolean prefixed = false;
        Set<String> embeddings = new HashSet<>();
        for (int i = 0; i < dirs.size(); i++) {
            LoraConfig config = (LoraConfig) configs.get(i);
            refuseBaseDependent(config, dirs.get(i));
            Read read = read(dirs.get(i), config);
            factors.add(read.factors);
            for (String module : read.factors.keySet()) {
                if (!modules.contains(module)) {
                    modules.add(module);
                }
            }
            prefixed |= i == 0 && read.prefixed;
            embeddings.addAll(read.embeddings);
        }
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (String module : modules) {
            List<LoraFactors> sources = new ArrayList<>();
            List<Double> sourceWeights = new ArrayList<>();
            for (int i = 0; i < dirs.size(); i++) {
                LoraFactors f = factors.get(i).get(module);
                if (f != null) {
                    sources.add(f);
                    sourceWeights.add(weights.get(i));
                }
            }
            LoraFactors combined = plan.combine(module, sources, sourceWeights);
            String key = (prefixed ? SAVED_PREFIX : "") + module;
            boolean embedding = embeddings.contains(module);
            String[] suffix = FACTOR_KEYS[embedding ? 1 : 0];
            tensors.put(key + suffix[0], TensorData.ofFloats(combined.aShape(), combined.a()));
            tensors.put(key + suffix[1], TensorData.ofFloats(combined.bShape(), combined.b()));
            if (plan.config.loraBias() && !embedding) {
                // PEFT leaves the new adapter's lora_B.bias at its initialisation, zeros
                tensors.put(key + ".lora_B.bias", TensorData.ofFloats(new long[] {combined.bShape()[0]},
                        new float[(int) combined.bShape()[0]]));
            }
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("Found no LoRA factors in " + dirs);
        }
        try {
            Files.createDirectories(out);
            Path model = out.resolve("adapter_model.safetensors");
            SafetensorsWriter.write(model, tensors, Map.of("format", "pt"));
            AdapterConfigs.write(plan.config, out);
            return new Result(plan.config, modules, plan.describe(),
                    List.of(out.resolve(AdapterConfigs.CONFIG_NAME), model));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the combined adapter to " + out + ": " + e.getMessage(), e);
        }
    }

    private static void refuseBaseDependent(LoraConfig config, Path dir) {
        if (config.useDora()) {
            throw new IllegalArgumentException(dir.resolve(AdapterConfigs.CONFIG_NAME) + ": use_dora is true; a "
                    + "combined DoRA adapter's magnitude is the base weight's norm, which needs the model: combine it "
                    + "in a live JVM (Peft.addWeightedAdapter or JMX combine)");
        }
        if (config.modulesToSave() != null && !config.modulesToSave().isEmpty()) {
            throw new IllegalArgumentException(dir.resolve(AdapterConfigs.CONFIG_NAME) + ": modules_to_save "
                    + config.modulesToSave() + " gives the combined adapter copies of the base modules, which needs "
                    + "the model: combine it in a live JVM (Peft.addWeightedAdapter or JMX combine)");
        }
    }

    /** The factors of one directory by module, and how its keys were written. */
    private record Read(Map<String, LoraFactors> factors, boolean prefixed, Set<String> embeddings) {}

    private static Read read(Path dir, LoraConfig config) {
        Path file = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(dir + " has no adapter_model.safetensors: nothing to combine");
        }
        SafetensorsFile st;
        try {
            st = SafetensorsFile.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
        Map<String, TensorData[]> byModule = new LinkedHashMap<>();
        Set<String> embeddings = new HashSet<>();
        boolean prefixed = false;
        for (String key : st.names()) {
            String name = key;
            if (name.startsWith(SAVED_PREFIX)) {
                name = name.substring(SAVED_PREFIX.length());
                prefixed = true;
            }
            if (name.endsWith(".lora_B.bias")) {
                continue; // PEFT's combination ignores the sources' lora_B bias
            }
            boolean matched = false;
            for (int kind = 0; kind < FACTOR_KEYS.length && !matched; kind++) {
                for (int which = 0; which < 2; which++) {
                    String suffix = FACTOR_KEYS[kind][which];
                    if (name.endsWith(suffix)) {
                        String module = name.substring(0, name.length() - suffix.length());
                        byModule.computeIfAbsent(module, m -> new TensorData[2])[which] = st.get(key);
                        if (kind == 1) {
                            embeddings.add(module);
                        }
                        matched = true;
                        break;
                    }
                }
            }
            if (!matched) {
                throw new IllegalArgumentException(file + ": key '" + key + "' is not a LoRA factor; the offline "
                        + "combine handles lora_A/lora_B (and lora_embedding_A/B) only: combine this adapter in a live "
                        + "JVM (Peft.addWeightedAdapter or JMX combine)");
            }
        }
        Map<String, LoraFactors> factors = new LinkedHashMap<>();
        for (Map.Entry<String, TensorData[]> e : byModule.entrySet()) {
            TensorData a = e.getValue()[0];
            TensorData b = e.getValue()[1];
            if (a == null || b == null) {
                throw new IllegalArgumentException(file + ": module '" + e.getKey() + "' has "
                        + (a == null ? "no lora_A" : "no lora_B") + " tensor");
            }
            factors.put(e.getKey(), new LoraFactors(a.toFloatArray(), a.shape(), b.toFloatArray(), b.shape(),
                    config.scalingFor(e.getKey())));
        }
        return new Read(factors, prefixed, embeddings);
    }
}

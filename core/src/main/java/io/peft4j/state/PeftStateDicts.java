package io.peft4j.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdaLoraConfig;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.LoraBias;
import io.peft4j.config.LoraConfig;
import io.peft4j.config.PeftType;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.WeightUpdate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code get_peft_model_state_dict} and {@code set_peft_model_state_dict}, key for key: the same filters by
 * {@code bias} mode, the same {@code modules_to_save} renaming and the same removal and re-insertion of the adapter
 * name, applied to the names of {@link ModelAdapters#namedParameters()}.
 */
public final class PeftStateDicts {

    /** The prefix {@code PeftModel} adds to every key; accepted and stripped on load. */
    public static final String PEFT_MODEL_PREFIX = "base_model.model.";

    private PeftStateDicts() {}

    /** The adapter's state dict: PEFT keys (e.g. {@code fc1.lora_A.weight}) to the live parameters. */
    public static LinkedHashMap<String, Parameter> adapterStateDict(ModelAdapters model, String adapter) {
        AdapterConfig config = model.config(adapter);
        LinkedHashMap<String, Parameter> full = model.namedParameters();
        LinkedHashMap<String, Parameter> selected = new LinkedHashMap<>();
        if (config.peftType() == PeftType.LORA || config.peftType() == PeftType.ADALORA) {
            LoraBias bias = ((LoraConfig) config).bias();
            for (Map.Entry<String, Parameter> e : full.entrySet()) {
                String k = e.getKey();
                if (k.contains("lora_")) {
                    selected.put(k, e.getValue());
                    if (bias == LoraBias.LORA_ONLY) {
                        String biasName = k.substring(0, k.indexOf("lora_")) + "bias";
                        if (full.containsKey(biasName)) {
                            selected.put(biasName, full.get(biasName));
                        }
                    }
                } else if (bias == LoraBias.ALL && k.contains("bias")) {
                    selected.put(k, e.getValue());
                }
            }
            selected.entrySet().removeIf(e -> !(e.getKey().contains("lora_") && e.getKey().contains(adapter)
                    || e.getKey().contains("bias")));
        } else if (config.peftType() == PeftType.IA3) {
            full.forEach((k, v) -> {
                if (k.contains("ia3_")) {
                    selected.put(k, v);
                }
            });
        }
        List<String> modulesToSave = config.modulesToSave();
        if (modulesToSave != null && !modulesToSave.isEmpty()) {
            for (Map.Entry<String, Parameter> e : full.entrySet()) {
                for (String module : modulesToSave) {
                    if (e.getKey().contains(module + ".modules_to_save." + adapter)) {
                        selected.put(e.getKey().replace("modules_to_save.", ""), e.getValue());
                        break;
                    }
                }
            }
        }
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        String doraSuffix = "lora_magnitude_vector." + adapter + ".weight";
        selected.forEach((k, v) -> {
            String key = k.endsWith(doraSuffix) ? k.substring(0, k.length() - ".weight".length()) : k;
            out.put(key.replace("." + adapter, ""), v);
        });
        return out;
    }

    /**
     * The adapter's state dict as tensors: the live arrays, except that an AdaLoRA adapter with a
     * {@code rank_pattern} has its {@code lora_A}/{@code lora_E} rows and {@code lora_B} columns cut to the kept
     * ranks (PEFT's {@code resize_state_dict_by_rank_pattern}); those are new arrays the caller owns.
     */
    public static LinkedHashMap<String, NDArray> adapterTensors(ModelAdapters model, String adapter) {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        adapterStateDict(model, adapter).forEach((k, p) -> out.put(k, p.getArray()));
        AdapterConfig config = model.config(adapter);
        if (config instanceof AdaLoraConfig && ((AdaLoraConfig) config).rankMasks() != null) {
            ((AdaLoraConfig) config).rankMasks().forEach((name, mask) -> {
                int kept = (int) mask.stream().filter(Boolean::booleanValue).count();
                String prefix = name.substring(0, name.lastIndexOf('.'));
                for (String layer : new String[] {"lora_E", "lora_A", "lora_B"}) {
                    NDArray t = out.get(prefix + "." + layer);
                    int axis = "lora_B".equals(layer) ? 1 : 0;
                    if (t == null || t.getShape().get(axis) == kept || t.getShape().get(axis) != mask.size()) {
                        continue;
                    }
                    long[] keep = new long[kept];
                    for (int i = 0, j = 0; i < mask.size(); i++) {
                        if (mask.get(i)) {
                            keep[j++] = i;
                        }
                    }
                    NDArray index = t.getManager().create(keep);
                    out.put(prefix + "." + layer, t.get(new NDIndex(axis == 0 ? "{}" : ":, {}", index)));
                    index.close();
                }
            });
        }
        return out;
    }

    /** The model-side name PEFT's {@code set_peft_model_state_dict} gives to the saved key {@code key}. */
    public static String modelKey(AdapterConfig config, String adapter, String key) {
        String k = key.startsWith(PEFT_MODEL_PREFIX) ? key.substring(PEFT_MODEL_PREFIX.length()) : key;
        List<String> modulesToSave = config.modulesToSave();
        if (modulesToSave != null) {
            for (String module : modulesToSave) {
                if (k.contains(module)) {
                    k = k.replace(module, module + ".modules_to_save." + adapter);
                    break;
                }
            }
        }
        String prefix = config.peftType() == PeftType.IA3 ? "ia3_" : "lora_";
        int at = k.indexOf(prefix);
        if (at >= 0) {
            String suffix = k.substring(at + prefix.length());
            int dot = suffix.indexOf('.');
            if (dot >= 0) {
                String toReplace = suffix.substring(dot + 1);
                k = k.replace(toReplace, adapter + "." + toReplace);
            } else {
                k = k + "." + adapter;
            }
        }
        if (k.endsWith("lora_magnitude_vector." + adapter)) {
            k = k + ".weight";
        }
        return k;
    }

    /**
     * Loads {@code stateDict} into adapter {@code adapter} (keys with or without {@code base_model.model.}); values are
     * copied into the live parameters.
     *
     * @throws IllegalArgumentException naming the key when a value's shape does not fit its parameter
     */
    public static StateDictLoadResult load(ModelAdapters model, String adapter, Map<String, NDArray> stateDict) {
        AdapterConfig config = model.config(adapter);
        LinkedHashMap<String, Parameter> full = model.namedParameters();
        List<String> unexpected = new ArrayList<>();
        List<String> provided = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            String target = modelKey(config, adapter, e.getKey());
            Parameter parameter = full.get(target);
            if (parameter == null) {
                unexpected.add(e.getKey());
                continue;
            }
            NDArray value = e.getValue();
            NDArray current = parameter.getArray();
            if (!current.getShape().equals(value.getShape())) {
                throw new IllegalArgumentException("size mismatch for " + e.getKey() + ": copying a param with shape "
                        + value.getShape() + ", the shape in the current model is " + current.getShape());
            }
            WeightUpdate.copyInto(current, value);
            provided.add(target);
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : adapterStateDict(model, adapter).entrySet()) {
            if (!provided.contains(modelKey(config, adapter, e.getKey()))) {
                missing.add(e.getKey());
            }
        }
        return new StateDictLoadResult(List.copyOf(unexpected), List.copyOf(missing));
    }
}

package io.peft4j.state;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftMethods;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.model.ModuleNode;
import io.peft4j.model.TorchParameterNames;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.ModelStructure;
import io.peft4j.tuner.SavedModule;
import io.peft4j.tuner.TunedModule;

import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code get_peft_model_state_dict} and {@code set_peft_model_state_dict}, key for key: the same filters by
 * {@code bias} mode, the same {@code modules_to_save} renaming and the same removal and re-insertion of the adapter
 * name, applied to the names of {@link #namedParameters(ModelAdapters)}.
 */
public final class PeftStateDicts {

    /** The prefix {@code PeftModel} adds to every key; accepted and stripped on load. */
    public static final String PEFT_MODEL_PREFIX = "base_model.model.";

    private PeftStateDicts() {}

    /**
     * The whole model's parameters under the names PEFT's injected model has in {@code state_dict()}:
     * {@code fc1.base_layer.weight}, {@code fc1.lora_A.default.weight}, {@code head.original_module.weight},
     * {@code head.modules_to_save.default.weight}, {@code fc2.bias}, ...
     */
    public static LinkedHashMap<String, Parameter> namedParameters(ModelAdapters model) {
        ModelStructure structure = model.structure();
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        for (ModuleNode node : structure.tree().nodes()) {
            SavedModule wrapper = structure.savedModuleOf(node.block());
            if (wrapper != null) {
                wrapper.originals().forEach((rel, p) -> out.put(node.child("original_module." + rel), p));
                for (String adapter : wrapper.adapters()) {
                    wrapper.copy(adapter).forEach((rel, p) ->
                            out.put(node.child("modules_to_save." + adapter + "." + rel), p));
                }
                continue;
            }
            if (structure.insideSavedModule(node)) {
                continue;
            }
            for (Pair<String, Parameter> p : node.block().getDirectParameters()) {
                String torch = TorchParameterNames.torchName(node.block(), p.getKey());
                out.put(structure.baseParameterName(node, torch), p.getValue());
            }
            TunedModule module = structure.tuned().get(node.path());
            if (module != null) {
                addAdapterParameters(node, module, out);
            }
        }
        return out;
    }

    /** Adapter parameters grouped as torch's ModuleDicts are: all adapters' lora_A, then all lora_B, ... */
    private static void addAdapterParameters(ModuleNode node, TunedModule module, Map<String, Parameter> out) {
        Map<String, Map<String, Parameter>> slots = new LinkedHashMap<>();
        for (ModuleAdapter adapter : module.adapters().values()) {
            adapter.parameters().forEach((name, p) -> {
                int dot = name.indexOf('.');
                String slot = dot < 0 ? name : name.substring(0, dot);
                slots.computeIfAbsent(slot, k -> new LinkedHashMap<>()).put(name, p);
            });
        }
        slots.values().forEach(m -> m.forEach((name, p) -> out.put(node.child(name), p)));
    }

    /**
     * The adapter's state dict: PEFT keys (e.g. {@code fc1.lora_A.weight}) to the live parameters, as PEFT's
     * {@code get_peft_model_state_dict}: the other adapters' keys are dropped first ({@link AdapterNames}), the method
     * selects its entries (prefix, {@code bias} mode), the {@code modules_to_save} copies of this adapter are added
     * under the module's own names, and the adapter name is removed from the key's last or second-to-last segment.
     */
    public static LinkedHashMap<String, Parameter> adapterStateDict(ModelAdapters model, String adapter) {
        AdapterConfig config = model.config(adapter);
        LinkedHashMap<String, Parameter> full = namedParameters(model);
        List<String> others = new ArrayList<>(model.adapterNames());
        others.remove(adapter);
        LinkedHashMap<String, Parameter> own = new LinkedHashMap<>();
        full.forEach((k, v) -> {
            if (!AdapterNames.belongsToAnother(k, others)) {
                own.put(k, v);
            }
        });
        PeftMethod method = PeftMethods.of(config);
        LinkedHashMap<String, Parameter> selected = new LinkedHashMap<>();
        method.selectStateDict(config, adapter, own.isEmpty() ? full : own)
                .forEach((k, v) -> selected.put(method.savedKey(k, adapter), v));
        ModelStructure structure = model.structure();
        for (ModuleNode node : structure.tree().nodes()) {
            SavedModule wrapper = structure.savedModuleOf(node.block());
            if (wrapper != null) {
                wrapper.copy(adapter).forEach((rel, p) -> selected.put(node.child(rel), p));
            }
        }
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        selected.forEach((k, v) -> out.put(AdapterNames.remove(k, adapter), v));
        return out;
    }

    /**
     * The adapter's state dict as tensors: the live arrays, except those its method replaces for saving
     * ({@link PeftMethod#resizeForSaving}: an AdaLoRA adapter with a {@code rank_pattern} has its factors cut to the
     * kept ranks); those are new arrays the caller owns.
     */
    public static LinkedHashMap<String, NDArray> adapterTensors(ModelAdapters model, String adapter) {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        adapterStateDict(model, adapter).forEach((k, p) -> out.put(k, p.getArray()));
        AdapterConfig config = model.config(adapter);
        PeftMethods.of(config).resizeForSaving(config, adapter, out);
        return out;
    }

    /**
     * The model-side names PEFT's {@code set_peft_model_state_dict} gives the saved keys of {@code stateDict}, in
     * its order: {@code base_model.model.} removed (as {@code PeftModel.from_pretrained} loads such files),
     * {@code modules_to_save} keys mapped into the adapter's copies ({@code head.weight} to
     * {@code head.modules_to_save.<adapter>.weight}), the adapter name inserted after the method's prefix
     * ({@link AdapterNames#insert}), then the method's own renaming.
     *
     * @return saved key to model key
     * @throws IllegalArgumentException when a {@code modules_to_save} tensor of the adapter is missing (PEFT raises a
     *     {@code KeyError})
     */
    public static LinkedHashMap<String, String> modelKeys(ModelAdapters model, String adapter,
            Collection<String> savedKeys) {
        AdapterConfig config = model.config(adapter);
        LinkedHashMap<String, String> renamed = new LinkedHashMap<>();
        for (String key : savedKeys) {
            renamed.put(key, key.startsWith(PEFT_MODEL_PREFIX) ? key.substring(PEFT_MODEL_PREFIX.length()) : key);
        }
        Map<String, String> byStripped = new LinkedHashMap<>();
        renamed.forEach((saved, stripped) -> byStripped.put(stripped, saved));
        Map<String, String> wrapperKeys = new LinkedHashMap<>();
        ModelStructure structure = model.structure();
        for (ModuleNode node : structure.tree().nodes()) {
            SavedModule wrapper = structure.savedModuleOf(node.block());
            if (wrapper == null) {
                continue;
            }
            for (String rel : wrapper.copy(adapter).keySet()) {
                String lookup = node.child(rel);
                if (!byStripped.containsKey(lookup)) {
                    throw new IllegalArgumentException("the state dict of adapter '" + adapter + "' has no '" + lookup
                            + "', the copy of module '" + node.path() + "' it saves in full (modules_to_save)");
                }
                wrapperKeys.put(lookup, node.child("modules_to_save." + adapter + "." + rel));
            }
        }
        PeftMethod method = PeftMethods.of(config);
        LinkedHashMap<String, String> out = new LinkedHashMap<>();
        renamed.forEach((saved, stripped) -> {
            String mapped = wrapperKeys.get(stripped);
            String k = mapped != null ? mapped : AdapterNames.insert(stripped, adapter, method.prefix());
            out.put(saved, method.modelKey(k, adapter));
        });
        return out;
    }

    /**
     * Loads {@code stateDict} into adapter {@code adapter} (keys with or without {@code base_model.model.}); values are
     * copied into the live parameters ({@link #plan} then {@link Plan#apply}).
     *
     * @throws IllegalArgumentException naming the key when a value's shape does not fit its parameter; nothing is
     *     written then
     */
    public static StateDictLoadResult load(ModelAdapters model, String adapter, Map<String, NDArray> stateDict) {
        return plan(model, adapter, stateDict).apply();
    }

    /**
     * What {@link #load} would do, with nothing written yet: every key matched to its parameter and every value's
     * shape checked, so that a caller can refuse the whole state dict (missing adapter keys) before any value, the base
     * model's included, reaches the model.
     *
     * @throws IllegalArgumentException naming the key when a value's shape does not fit its parameter
     */
    public static Plan plan(ModelAdapters model, String adapter, Map<String, NDArray> stateDict) {
        LinkedHashMap<String, Parameter> full = namedParameters(model);
        Map<String, String> targets = modelKeys(model, adapter, stateDict.keySet());
        List<String> unexpected = new ArrayList<>();
        Map<Parameter, NDArray> writes = new IdentityHashMap<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            Parameter parameter = full.get(targets.get(e.getKey()));
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
            writes.put(parameter, value);
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : adapterStateDict(model, adapter).entrySet()) {
            if (!writes.containsKey(e.getValue())) {
                missing.add(e.getKey());
            }
        }
        return new Plan(writes, new StateDictLoadResult(List.copyOf(unexpected), List.copyOf(missing)));
    }

    /** A checked state dict: the values for their parameters, and what {@link #load} will report. */
    public record Plan(Map<Parameter, NDArray> writes, StateDictLoadResult result) {

        /** Copies every value into its parameter. */
        public StateDictLoadResult apply() {
            writes.forEach((parameter, value) -> WeightUpdate.copyInto(parameter.getArray(), value));
            return result;
        }
    }
}

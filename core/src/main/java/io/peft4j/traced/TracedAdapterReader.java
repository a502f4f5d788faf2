package io.peft4j.traced;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftConfigException;
import io.peft4j.io.SafetensorsDType;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.match.MatchResult;
import io.peft4j.match.TargetMatcher;
import io.peft4j.state.AdapterDirectory;
import io.peft4j.state.PeftStateDicts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an adapter directory for a traced model and maps every saved key to the model's parameters: the modules the
 * config targets (PEFT's matching rules on the module paths the parameter names give), the tensors of each targeted
 * module (checked by its {@link TracedMethod}), and the base parameters the file replaces. Anything that does not
 * fit is an error naming the key and the shapes; nothing is merged here.
 */
final class TracedAdapterReader {

    private TracedAdapterReader() {}

    static TracedAdapter read(TracedStructure model, Path dir, String name, LayerMemory memory, NDManager parent) {
        AdapterConfig config = AdapterConfigs.read(dir);
        TracedMethod method = TracedMethods.forType(config.peftType());
        NDManager manager = parent.newSubManager();
        try {
            Map<String, NDArray> saved = AdapterDirectory.hasWeights(dir)
                    ? readWeights(dir.resolve(AdapterDirectory.WEIGHTS_FILE), manager) : new LinkedHashMap<>();
            String file = dir.resolve(AdapterDirectory.WEIGHTS_FILE).toString();
            try {
                return bind(model, config, method, name, dir, saved, memory, manager);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static Map<String, NDArray> readWeights(Path file, NDManager manager) {
        SafetensorsFile weights;
        try {
            weights = SafetensorsFile.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        weights.tensors().forEach((key, tensor) -> {
            TensorData t = tensor.dtype() == SafetensorsDType.BF16 ? tensor.toFloat32() : tensor;
            String k = key.startsWith(PeftStateDicts.PEFT_MODEL_PREFIX)
                    ? key.substring(PeftStateDicts.PEFT_MODEL_PREFIX.length()) : key;
            out.put(k, TensorArrays.toNDArray(t, manager));
        });
        return out;
    }

    static TracedAdapter bind(TracedStructure model, AdapterConfig config, TracedMethod method, String name,
            Path dir, Map<String, NDArray> saved, LayerMemory memory, NDManager manager) {
        List<String> targets = targets(model, config, method, saved.keySet());
        Set<String> consumed = new LinkedHashSet<>();
        Map<String, ModuleMerge> merges = new LinkedHashMap<>();
        for (String path : targets) {
            TracedModule module = model.modules().get(path);
            if (module == null || module.weight() == null) {
                throw new PeftConfigException("Target module '" + path + "' is not supported: in the traced model"
                        + " it has no weight of its own (" + (module == null ? "its parameters belong to submodules"
                                : module.describeParameters()) + ")");
            }
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String slot : method.slots()) {
                String key = path + "." + slot;
                if (saved.containsKey(key)) {
                    tensors.put(slot, saved.get(key));
                    consumed.add(key);
                }
            }
            if (!saved.isEmpty() && tensors.isEmpty()) {
                throw new IllegalArgumentException("missing adapter keys for targeted module '" + path
                        + "': the file has no " + path + "." + method.slots().get(0) + " (nor any other "
                        + method.slots() + ") for adapter '" + name + "'");
            }
            merges.put(path, method.bind(new TracedMethod.Binding(config, name, module, tensors, manager, memory)));
        }
        Map<String, TracedAdapter.Replacement> replacements = new LinkedHashMap<>();
        Set<String> savedModules = savedModules(model, config);
        for (Map.Entry<String, NDArray> e : saved.entrySet()) {
            if (consumed.contains(e.getKey())) {
                continue;
            }
            String key = e.getKey();
            String parameter = key.replace(".base_layer.", ".");
            String reason = null;
            if (model.parameters().containsKey(parameter)) {
                String owner = parameter.substring(0, Math.max(0, parameter.lastIndexOf('.')));
                if (insideAny(parameter, savedModules)) {
                    reason = "modules_to_save";
                } else if (method.savesBaseParameter(config, parameter, targets.contains(owner))) {
                    reason = "saved base parameter";
                }
            }
            if (reason == null) {
                throw unexpected(model, key, targets, method);
            }
            NDArray value = e.getValue();
            TracedShapes.check(key, value.getShape(), model.parameters().get(parameter).getArray().getShape(),
                    "the traced model's " + parameter);
            replacements.put(parameter, new TracedAdapter.Replacement(parameter, key, value, reason));
        }
        if (!saved.isEmpty()) {
            for (String module : savedModules) {
                for (String parameter : model.parametersUnder(module)) {
                    if (!replacements.containsKey(parameter)) {
                        throw new IllegalArgumentException("missing adapter keys for modules_to_save module '" + module
                                + "': the file has no " + parameter + " for adapter '" + name + "'");
                    }
                }
            }
        }
        return new TracedAdapter(name, config, dir, merges, replacements, manager);
    }

    /** The targeted module paths in model order, or PEFT's error when there are none. */
    private static List<String> targets(TracedStructure model, AdapterConfig config, TracedMethod method,
            Set<String> savedKeys) {
        AdapterConfigs.checkInjectable(config);
        AdapterConfig effective = config;
        if (config.targetModules() != null && config.targetModules().isAllLinear()) {
            effective = config.withTargetModules(allLinear(model, config, method, savedKeys));
        }
        List<String> targets = new ArrayList<>();
        boolean anyExcluded = false;
        boolean anyUnmatched = false;
        for (String path : model.paths()) {
            MatchResult result = TargetMatcher.classify(effective, path);
            if (result == MatchResult.TARGETED) {
                targets.add(path);
            } else if (result == MatchResult.EXCLUDED) {
                anyExcluded = true;
            } else {
                anyUnmatched = true;
            }
        }
        if (targets.isEmpty()) {
            PeftConfigException noMatch = TargetMatcher.noMatch(config, anyExcluded, anyUnmatched,
                    model.modules().keySet());
            if (noMatch != null) {
                throw noMatch;
            }
        }
        return targets;
    }

    /**
     * {@code "all-linear"}: a traced model does not tell a Linear from an Embedding by shape, so the modules are
     * those the adapter file holds linear-layer tensors for (PEFT chose them when it saved the adapter).
     */
    private static io.peft4j.config.TargetModules allLinear(TracedStructure model, AdapterConfig config,
            TracedMethod method, Set<String> savedKeys) {
        if (savedKeys.isEmpty()) {
            throw new PeftConfigException(config.source(), "target_modules", "'all-linear' cannot be resolved on a "
                    + "traced model without adapter weights: its parameters do not say which modules are Linear "
                    + "layers; list the module names instead");
        }
        List<String> names = new ArrayList<>();
        for (String path : model.modules().keySet()) {
            for (String slot : method.slots()) {
                if (savedKeys.contains(path + "." + slot) && !slot.contains("embedding")) {
                    names.add(path);
                    break;
                }
            }
        }
        return io.peft4j.config.TargetModules.ofNames(names);
    }

    /**
     * The {@code modules_to_save} module paths: every path that ends with one of the names, as PEFT's
     * {@code _set_trainable} matches ({@code key.endswith(target_key)}, no dot: {@code classifier} also selects
     * {@code pre_classifier}).
     */
    private static Set<String> savedModules(TracedStructure model, AdapterConfig config) {
        Set<String> out = new LinkedHashSet<>();
        List<String> wanted = config.modulesToSave();
        if (wanted == null) {
            return out;
        }
        for (String path : model.paths()) {
            for (String key : wanted) {
                if (path.endsWith(key)) {
                    out.add(path);
                    break;
                }
            }
        }
        return out;
    }

    private static boolean insideAny(String parameter, Set<String> modules) {
        for (String m : modules) {
            if (parameter.startsWith(m + ".")) {
                return true;
            }
        }
        return false;
    }

    private static IllegalArgumentException unexpected(TracedStructure model, String key, List<String> targets,
            TracedMethod method) {
        for (String slot : method.slots()) {
            if (key.endsWith("." + slot)) {
                String path = key.substring(0, key.length() - slot.length() - 1);
                if (model.paths().contains(path)) {
                    return new IllegalArgumentException("unexpected key " + key + ": module '" + path + "' exists but"
                            + " the adapter's target_modules do not select it (targeted: " + targets + ")");
                }
                return new IllegalArgumentException("unexpected key " + key + ": the traced model has no module '"
                        + path + "' (modules with weights: " + model.modules().keySet() + ")");
            }
        }
        return new IllegalArgumentException("unexpected key " + key + ": it matches no parameter of the traced model"
                + " that this adapter may change (parameters: " + model.parameters().keySet() + ")");
    }
}

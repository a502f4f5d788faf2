package io.peft4j.tuner;

import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftMethods;
import io.peft4j.config.TargetModules;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;
import io.peft4j.match.MatchResult;
import io.peft4j.match.TargetMatcher;
import io.peft4j.model.BlockShapes;
import io.peft4j.model.ModuleNode;
import io.peft4j.model.ModuleTree;
import io.peft4j.model.TorchParameterNames;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code inject_adapter_in_model} for one adapter on one model, as {@link ModelAdapters#inject} runs it under
 * the model's lock: the modules the config targets ({@code target_modules}, {@code "all-linear"},
 * {@code exclude_modules}, never inside a {@code modules_to_save} module), the method's layer on each, the
 * {@code modules_to_save} copies, and the log lines that say what was injected where.
 */
final class AdapterInjection {

    /** Logged under the model's adapters, the name operators know ({@code io.peft4j.tuner.ModelAdapters}). */
    private static final PeftLog LOG = PeftLog.get(ModelAdapters.class);

    private final ModelStructure before;
    private final Map<String, TunedModule> tuned;
    private final Map<String, SavedModule> saved;
    private AdapterConfig resolved;

    /**
     * An injection into the model whose modules and current adapters are {@code before}; {@code tuned} and
     * {@code saved} are the model's live maps, which it adds to.
     */
    AdapterInjection(ModelStructure before, Map<String, TunedModule> tuned, Map<String, SavedModule> saved) {
        this.before = before;
        this.tuned = tuned;
        this.saved = saved;
    }

    /**
     * Adds adapter {@code name}: layers on the targeted modules, then the {@code modules_to_save} copies. On an error
     * nothing is left behind.
     *
     * @return the modules that received the adapter, in model order
     * @throws PeftConfigException when no module matches or a matched module is not supported
     */
    List<TunedModule> run(AdapterConfig config, String name) {
        PeftMethod method = PeftMethods.of(config);
        List<ModuleNode> targets = findTargets(config);
        for (ModuleNode node : targets) {
            if (!method.supports(node.block())) {
                throw new PeftConfigException("Target module '" + node.path() + "' ("
                        + node.block().getClass().getName() + ") is not supported. Currently, only the following "
                        + "modules are supported: " + method.supportedBlocks() + ".");
            }
        }
        List<String> paths = new ArrayList<>();
        targets.forEach(t -> paths.add(t.path()));
        method.validate(config, paths);
        List<TunedModule> created = new ArrayList<>();
        List<TunedModule> touched = new ArrayList<>();
        List<ModuleNode> toSave;
        try {
            for (ModuleNode node : targets) {
                TunedModule module = tuned.get(node.path());
                if (module == null) {
                    module = new TunedModule(node.path(), node.block());
                    created.add(module);
                }
                module.addAdapter(method.createAdapter(config, name, node.path(), node.block(), module.adapters()));
                touched.add(module);
            }
            toSave = modulesToSave(config, name, touched);
        } catch (RuntimeException e) {
            for (TunedModule module : touched) {
                if (!created.contains(module)) {
                    module.deleteAdapter(name);
                }
            }
            for (TunedModule module : created) {
                module.adapters().values().forEach(ModuleAdapter::close);
            }
            throw e;
        }
        for (TunedModule module : created) {
            tuned.put(module.path(), module);
            AdapterRegistry.registerTuned(module);
        }
        addModulesToSave(toSave, name);
        return touched;
    }

    /**
     * The config as the injection resolved it, which the model keeps and saves: PEFT's
     * {@code _maybe_include_all_linear_layers} replaces {@code "all-linear"} by the names it expands to (in model
     * order here; PEFT writes a Python set's order).
     */
    AdapterConfig resolvedConfig() {
        return resolved;
    }

    private List<ModuleNode> findTargets(AdapterConfig config) {
        AdapterConfigs.checkInjectable(config);
        ModuleTree tree = before.tree();
        AdapterConfig effective = config;
        if (config.targetModules() != null && config.targetModules().isAllLinear()) {
            effective = config.withTargetModules(TargetModules.ofNames(allLinearPaths(tree)));
        }
        resolved = effective;
        List<ModuleNode> targets = new ArrayList<>();
        boolean anyExcluded = false;
        boolean anyUnmatched = false;
        for (ModuleNode node : tree.nodes()) {
            if (node.path().isEmpty()) {
                continue;
            }
            MatchResult result = TargetMatcher.classify(effective, node.path());
            if (result == MatchResult.TARGETED && before.insideSavedModule(node)) {
                throw insideSavedModule(node, PeftMethods.of(config).supportedBlocks());
            }
            if (before.insideSavedModule(node)) {
                continue;
            }
            if (result == MatchResult.TARGETED) {
                targets.add(node);
            } else if (result == MatchResult.EXCLUDED) {
                anyExcluded = true;
            } else {
                anyUnmatched = true;
            }
        }
        if (targets.isEmpty()) {
            List<String> leaves = new ArrayList<>();
            for (ModuleNode node : tree.nodes()) {
                if (!node.path().isEmpty() && node.block().getChildren().isEmpty()) {
                    leaves.add(node.path());
                }
            }
            PeftConfigException noMatch = TargetMatcher.noMatch(config, anyExcluded, anyUnmatched, leaves);
            if (noMatch != null) {
                throw noMatch;
            }
        }
        return targets;
    }

    /**
     * A target that is another adapter's {@code modules_to_save} module: PEFT finds a {@code ModulesToSaveWrapper}
     * there and refuses it as an unsupported module type. A module inside one has other paths in PEFT
     * ({@code head.original_module.0}, {@code head.modules_to_save.a.0}), so peft4j refuses it too rather than adapt
     * a module PEFT would not see under that name.
     */
    private PeftConfigException insideSavedModule(ModuleNode node, String supported) {
        for (SavedModule module : before.saved().values()) {
            if (module.path().equals(node.path())) {
                return new PeftConfigException("Target module '" + node.path() + "' (ModulesToSaveWrapper of "
                        + node.block().getClass().getName() + ", the modules_to_save copy of adapters "
                        + module.adapters() + ") is not supported. Currently, only the following modules are "
                        + "supported: " + supported + ".");
            }
        }
        return new PeftConfigException("Target module '" + node.path() + "' lies inside a modules_to_save module of "
                + "another adapter, where PEFT names it '<module>.original_module...' and "
                + "'<module>.modules_to_save.<adapter>...'; peft4j does not support targeting it");
    }

    /**
     * {@code "all-linear"} as PEFT 0.20 resolves it for a model that is not a transformers {@code PreTrainedModel}:
     * the full paths of every {@link Linear}, the output layer included.
     */
    private static List<String> allLinearPaths(ModuleTree tree) {
        List<String> paths = new ArrayList<>();
        for (ModuleNode node : tree.nodes()) {
            if (node.block() instanceof Linear && !node.path().isEmpty()) {
                paths.add(node.path());
            }
        }
        return paths;
    }

    /**
     * The modules PEFT's {@code _set_trainable} wraps for {@code modules_to_save}, after the adapter's layers exist:
     * every module whose path ends with an entry ({@code key.endswith(name)}, no dot boundary: {@code ["classifier"]}
     * also takes {@code pre_classifier}, {@code ["head"]} also {@code lm_head}).
     *
     * @param touched the modules that carry the new adapter (besides those in {@link #tuned})
     * @throws PeftConfigException where PEFT refuses: a matched module carries adapters (PEFT's
     *     {@code ModulesToSaveWrapper.check_module}), or an entry matches a part of an adapter layer
     */
    private List<ModuleNode> modulesToSave(AdapterConfig config, String name, List<TunedModule> touched) {
        List<String> wanted = config.modulesToSave();
        List<ModuleNode> out = new ArrayList<>();
        if (wanted == null || wanted.isEmpty()) {
            return out;
        }
        Map<String, TunedModule> adapted = new LinkedHashMap<>(tuned);
        touched.forEach(m -> adapted.put(m.path(), m));
        for (TunedModule module : adapted.values()) {
            for (String part : adapterParts(module)) {
                for (String key : wanted) {
                    if (part.endsWith(key)) {
                        throw new PeftConfigException("modules_to_save entry '" + key + "' of adapter '" + name
                                + "' matches '" + part + "', a part of the adapter layer on '" + module.path()
                                + "' (PEFT's suffix match, key.endswith(name)); PEFT refuses to wrap it. Please "
                                + "ensure that the adapter name, '" + name + "', does not conflict with any of the "
                                + "targeted modules, and that modules_to_save names the module itself");
                    }
                }
            }
        }
        List<String> found = new ArrayList<>();
        for (ModuleNode node : before.tree().nodes()) {
            if (node.path().isEmpty() || before.insideSavedModule(node) && !saved.containsKey(node.path())) {
                continue;
            }
            String hit = null;
            for (String key : wanted) {
                if (node.path().endsWith(key)) {
                    hit = key;
                    break;
                }
            }
            if (hit == null) {
                continue;
            }
            found.add(hit);
            if (adapted.containsKey(node.path())) {
                throw new PeftConfigException("modules_to_save cannot be applied to modules of type "
                        + adapted.get(node.path()).adapters().values().iterator().next().adapterType()
                        + " layer: module '" + node.path() + "' (matched by modules_to_save entry '" + hit
                        + "', a suffix match) carries adapters " + adapted.get(node.path()).adapters().keySet()
                        + "; remove it from target_modules or rename the modules_to_save entry");
            }
            for (String path : adapted.keySet()) {
                if (path.startsWith(node.path() + ".")) {
                    throw new PeftConfigException("modules_to_save module '" + node.path() + "' (entry '" + hit
                            + "') contains '" + path + "', which carries adapters: peft4j does not support copying "
                            + "a module with adapter layers inside");
                }
            }
            out.add(node);
        }
        for (String key : wanted) {
            if (!found.contains(key)) {
                LOG.warn("adapter '{}': modules_to_save entry '{}' matches no module (PEFT ignores it too)", name,
                        key);
            }
        }
        return out;
    }

    /**
     * The module paths PEFT's injected model has inside an adapter layer, which a {@code modules_to_save} entry must
     * not match: {@code base_layer}, and per adapter parameter {@code lora_A.default.weight} the containers
     * {@code lora_A} and {@code lora_A.default}.
     */
    private static List<String> adapterParts(TunedModule module) {
        List<String> parts = new ArrayList<>();
        parts.add(module.path() + ".base_layer");
        for (ModuleAdapter adapter : module.adapters().values()) {
            for (String parameter : adapter.parameters().keySet()) {
                String[] segments = parameter.split("\\.");
                String container = module.path() + "." + segments[0];
                if (!parts.contains(container)) {
                    parts.add(container);
                }
                if (segments.length > 2 && !parts.contains(container + "." + segments[1])) {
                    parts.add(container + "." + segments[1]);
                }
            }
        }
        return parts;
    }

    private void addModulesToSave(List<ModuleNode> nodes, String name) {
        ModuleTree tree = before.tree();
        for (ModuleNode node : nodes) {
            SavedModule module = saved.get(node.path());
            if (module == null) {
                module = new SavedModule(node.path(), node.block(), subtreeParameters(tree, node));
                saved.put(node.path(), module);
                AdapterRegistry.registerSaved(module);
            }
            module.addCopy(name);
            LOG.info("adapter '{}': module '{}' ({}) is trained and saved in full (modules_to_save)", name,
                    node.path(), node.block().getClass().getSimpleName());
        }
    }

    /** The parameters of {@code node}'s subtree by torch name relative to it. */
    private static Map<String, Parameter> subtreeParameters(ModuleTree tree, ModuleNode node) {
        Map<String, Parameter> params = new LinkedHashMap<>();
        for (ModuleNode n : tree.nodes()) {
            if (!ModuleTree.isWithin(n, node)) {
                continue;
            }
            String rel = n == node ? "" : n.path().substring(node.path().isEmpty() ? 0 : node.path().length() + 1);
            for (Pair<String, Parameter> p : n.block().getDirectParameters()) {
                String torch = TorchParameterNames.torchName(n.block(), p.getKey());
                params.put(rel.isEmpty() ? torch : rel + "." + torch, p.getValue());
            }
        }
        return params;
    }

    /** One line per module with the layer's settings, then the adapter's size against the base model's. */
    void log(AdapterConfig config, String name, List<TunedModule> modules) {
        long total = 0;
        long bytes = 0;
        for (TunedModule module : modules) {
            ModuleAdapter adapter = module.adapter(name);
            long count = adapter.parameterCount();
            total += count;
            bytes += adapter.memoryBytes();
            LOG.info("injected {} adapter '{}' into '{}' ({}): {}, trainable parameters={}", adapter.adapterType(),
                    name, module.path(), BlockShapes.describe(module.block()), adapter.describe(), count);
        }
        LOG.info("adapter '{}' ({}): {} modules, {} adapter parameters, {} bytes; {}", name,
                config.peftType().jsonName(), modules.size(), total, bytes, trainableParameters());
    }

    /**
     * PEFT's {@code print_trainable_parameters} line over the whole model, every adapter included: {@code
     * "trainable params: 6,656 || all params: 91,658 || trainable%: 7.2618"}, where all params are the base
     * model's and every adapter's, and the trainable ones those that require a gradient now (the active adapters,
     * and base parameters an adapter trains such as LoRA's {@code bias}).
     */
    String trainableParameters() {
        Set<Parameter> all = adapterParameters();
        for (Pair<String, Parameter> p : before.tree().root().block().getParameters()) {
            all.add(p.getValue());
        }
        long count = 0;
        long trainable = 0;
        for (Parameter p : all) {
            if (p.isInitialized()) {
                long size = p.getArray().getShape().size();
                count += size;
                trainable += p.requiresGradient() ? size : 0;
            }
        }
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", trainable,
                count, count == 0 ? 0.0 : 100.0 * trainable / count);
    }

    private Set<Parameter> adapterParameters() {
        Set<Parameter> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (TunedModule module : tuned.values()) {
            for (ModuleAdapter adapter : module.adapters().values()) {
                out.addAll(adapter.parameters().values());
            }
        }
        for (SavedModule module : saved.values()) {
            for (String adapter : module.adapters()) {
                out.addAll(module.copy(adapter).values());
            }
        }
        return out;
    }
}

package io.peft4j.tuner;

import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;
import io.peft4j.config.AdapterConfig;
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
        try {
            for (ModuleNode node : targets) {
                TunedModule module = tuned.get(node.path());
                if (module == null) {
                    module = new TunedModule(node.path(), node.block());
                    created.add(module);
                }
                module.addAdapter(method.createAdapter(config, name, node.path(), node.block()));
                touched.add(module);
            }
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
        addModulesToSave(config, name);
        return touched;
    }

    private List<ModuleNode> findTargets(AdapterConfig config) {
        ModuleTree tree = before.tree();
        AdapterConfig effective = config;
        if (config.targetModules() != null && config.targetModules().isAllLinear()) {
            effective = config.withTargetModules(TargetModules.ofNames(allLinearPaths(tree)));
        }
        List<ModuleNode> targets = new ArrayList<>();
        boolean anyExcluded = false;
        boolean anyUnmatched = false;
        for (ModuleNode node : tree.nodes()) {
            if (node.path().isEmpty() || before.insideSavedModule(node)) {
                continue;
            }
            MatchResult result = TargetMatcher.classify(effective, node.path());
            if (result == MatchResult.TARGETED) {
                targets.add(node);
            } else if (result == MatchResult.EXCLUDED) {
                anyExcluded = true;
            } else {
                anyUnmatched = true;
            }
        }
        if (targets.isEmpty()) {
            throw new PeftConfigException(TargetMatcher.noMatchMessage(config, anyExcluded, anyUnmatched));
        }
        return targets;
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

    private void addModulesToSave(AdapterConfig config, String name) {
        List<String> wanted = config.modulesToSave();
        if (wanted == null || wanted.isEmpty()) {
            return;
        }
        ModuleTree tree = before.tree();
        for (ModuleNode node : tree.nodes()) {
            if (node.path().isEmpty()) {
                continue;
            }
            boolean hit = false;
            for (String key : wanted) {
                if (node.path().equals(key) || node.path().endsWith("." + key)) {
                    hit = true;
                    break;
                }
            }
            if (!hit || tuned.containsKey(node.path())) {
                continue;
            }
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
        Set<Parameter> adapterParameters = adapterParameters();
        long base = 0;
        for (Pair<String, Parameter> p : before.tree().root().block().getParameters()) {
            if (p.getValue().isInitialized() && !adapterParameters.contains(p.getValue())) {
                base += p.getValue().getArray().getShape().size();
            }
        }
        LOG.info("adapter '{}' ({}): {} modules, {} adapter parameters ({}% of the base model's {}), {} bytes", name,
                config.peftType().jsonName(), modules.size(), total,
                String.format(Locale.ROOT, "%.3f", base == 0 ? 0.0 : 100.0 * total / base), base, bytes);
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

package io.peft4j.tuner;

import ai.djl.nn.Block;
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
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Everything peft4j knows about one model (a root block): the adapters injected into it with their configs, the tuned
 * modules, the {@code modules_to_save} copies, which adapters are active and whether adapters are disabled. This is
 * the low-level counterpart of what PEFT keeps on its tuner layers; {@link io.peft4j.Peft} is its public face.
 */
public final class ModelAdapters {

    private static final PeftLog LOG = PeftLog.get(ModelAdapters.class);

    private final Block root;
    private final Map<String, AdapterConfig> configs = new LinkedHashMap<>();
    private final Map<String, TunedModule> tuned = new LinkedHashMap<>();
    private final Map<String, SavedModule> saved = new LinkedHashMap<>();
    private List<String> active = List.of();
    private boolean disabled;
    private final ReentrantReadWriteLock passes = new ReentrantReadWriteLock();

    ModelAdapters(Block root) {
        this.root = root;
    }

    /** A forward pass of the model starts: changes to its adapters wait until {@link #endForward()}. */
    public void beginForward() {
        passes.readLock().lock();
    }

    /** The forward pass started with {@link #beginForward()} ended. */
    public void endForward() {
        passes.readLock().unlock();
    }

    /**
     * Runs {@code change} while no forward pass of this model runs, so that every pass sees the adapters either
     * before or after it, never a mix (hot swap). Called from inside a forward pass of this model on the same thread,
     * it runs at once (a read hold cannot be upgraded).
     */
    public <T> T exclusive(Supplier<T> change) {
        if (passes.getReadHoldCount() > 0) {
            synchronized (this) {
                return change.get();
            }
        }
        passes.writeLock().lock();
        try {
            synchronized (this) {
                return change.get();
            }
        } finally {
            passes.writeLock().unlock();
        }
    }

    private void exclusively(Runnable change) {
        exclusive(() -> {
            change.run();
            return null;
        });
    }

    /** The model's root block. */
    public Block root() {
        return root;
    }

    /**
     * Injects adapter {@code name} described by {@code config} (PEFT's {@code inject_adapter_in_model}); the new
     * adapter becomes the only active one, as in PEFT.
     *
     * @return the modules that received the adapter, in model order
     * @throws PeftConfigException when no module matches, a matched module is not supported, or the name is taken
     */
    public List<TunedModule> inject(AdapterConfig config, String name) {
        return exclusive(() -> doInject(config, name));
    }

    private List<TunedModule> doInject(AdapterConfig config, String name) {
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists on this model; delete it first "
                    + "or choose another name (existing: " + configs.keySet() + ")");
        }
        PeftMethod method = PeftMethods.of(config);
        ModuleTree tree = ModuleTree.of(root);
        List<ModuleNode> targets = findTargets(tree, config);
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
        configs.put(name, config);
        addModulesToSave(tree, config, name);
        doSetActive(List.of(name));
        logInjection(name, config, touched);
        return touched;
    }

    private List<ModuleNode> findTargets(ModuleTree tree, AdapterConfig config) {
        AdapterConfig effective = config;
        if (config.targetModules() != null && config.targetModules().isAllLinear()) {
            effective = config.withTargetModules(TargetModules.ofNames(allLinearPaths(tree)));
        }
        List<ModuleNode> targets = new ArrayList<>();
        boolean anyExcluded = false;
        boolean anyUnmatched = false;
        for (ModuleNode node : tree.nodes()) {
            if (node.path().isEmpty() || insideSavedModule(tree, node)) {
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

    private boolean insideSavedModule(ModuleTree tree, ModuleNode node) {
        for (SavedModule s : saved.values()) {
            ModuleNode wrapped = tree.nodeOf(s.block()).orElse(null);
            if (wrapped != null && ModuleTree.isWithin(node, wrapped)) {
                return true;
            }
        }
        return false;
    }

    private void addModulesToSave(ModuleTree tree, AdapterConfig config, String name) {
        List<String> wanted = config.modulesToSave();
        if (wanted == null || wanted.isEmpty()) {
            return;
        }
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

    private void logInjection(String name, AdapterConfig config, List<TunedModule> modules) {
        long total = 0;
        for (TunedModule module : modules) {
            ModuleAdapter adapter = module.adapter(name);
            long count = adapter.parameterCount();
            total += count;
            LOG.info("injected {} adapter '{}' into '{}' ({}): {}, trainable parameters={}", adapter.adapterType(),
                    name, module.path(), BlockShapes.describe(module.block()), adapter.describe(), count);
        }
        long base = 0;
        for (Pair<String, Parameter> p : root.getParameters()) {
            if (p.getValue().isInitialized() && !isAdapterParameter(p.getValue())) {
                base += p.getValue().getArray().getShape().size();
            }
        }
        LOG.info("adapter '{}' ({}): {} modules, {} adapter parameters ({}% of the base model's {})", name,
                config.peftType().jsonName(), modules.size(), total,
                String.format(java.util.Locale.ROOT, "%.3f", base == 0 ? 0.0 : 100.0 * total / base), base);
    }

    private boolean isAdapterParameter(Parameter parameter) {
        for (TunedModule module : tuned.values()) {
            for (ModuleAdapter adapter : module.adapters().values()) {
                if (adapter.parameters().containsValue(parameter)) {
                    return true;
                }
            }
        }
        for (SavedModule module : saved.values()) {
            for (String adapter : module.adapters()) {
                if (module.copy(adapter).containsValue(parameter)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The adapter names, in injection order. */
    public synchronized List<String> adapterNames() {
        return new ArrayList<>(configs.keySet());
    }

    /** The config of adapter {@code name}. */
    public synchronized AdapterConfig config(String name) {
        AdapterConfig config = configs.get(name);
        if (config == null) {
            throw unknownAdapter(name);
        }
        return config;
    }

    /**
     * Replaces adapter {@code name}'s config with an equivalent one carrying training-time state (AdaLoRA's
     * {@code rank_pattern}); what is injected does not change.
     */
    public synchronized void replaceConfig(String name, AdapterConfig config) {
        if (!configs.containsKey(name)) {
            throw unknownAdapter(name);
        }
        if (configs.get(name).peftType() != config.peftType()) {
            throw new IllegalArgumentException("cannot change adapter '" + name + "' from "
                    + configs.get(name).peftType() + " to " + config.peftType());
        }
        configs.put(name, config);
    }

    /** The active adapter names. */
    public synchronized List<String> activeAdapters() {
        return active;
    }

    /**
     * Activates {@code names} (their deltas add up), as PEFT's {@code set_adapter}: only active adapters are
     * trainable; base weights stay frozen.
     */
    public void setActiveAdapters(List<String> names) {
        exclusively(() -> doSetActive(names));
    }

    private void doSetActive(List<String> names) {
        for (String name : names) {
            if (!configs.containsKey(name)) {
                throw unknownAdapter(name);
            }
        }
        active = List.copyOf(names);
        for (TunedModule module : tuned.values()) {
            module.setActive(active);
        }
        for (SavedModule module : saved.values()) {
            module.activate(active, disabled);
        }
        applyBaseTrainability();
    }

    /**
     * Disables (outputs equal the base model's) or re-enables all adapters. As in PEFT, disabling first unmerges
     * any merged adapter, so that the base weights are the original ones again.
     */
    public void setAdaptersEnabled(boolean enabled) {
        exclusively(() -> doSetEnabled(enabled));
    }

    private void doSetEnabled(boolean enabled) {
        if (!enabled) {
            for (TunedModule module : tuned.values()) {
                if (!module.merged().isEmpty()) {
                    LOG.info("unmerging {} from '{}' before disabling adapters", module.merged(), module.path());
                    module.unmergeAll();
                }
            }
        }
        disabled = !enabled;
        for (TunedModule module : tuned.values()) {
            module.setDisabled(disabled);
        }
        for (SavedModule module : saved.values()) {
            module.activate(active, disabled);
        }
    }

    /** Whether adapters are enabled. */
    public synchronized boolean adaptersEnabled() {
        return !disabled;
    }

    /** Deletes adapter {@code name} from every module; the remaining active adapters stay active. */
    public void deleteAdapter(String name) {
        exclusively(() -> doDelete(name));
    }

    private void doDelete(String name) {
        if (configs.remove(name) == null) {
            throw unknownAdapter(name);
        }
        for (TunedModule module : new ArrayList<>(tuned.values())) {
            module.deleteAdapter(name);
            if (module.adapters().isEmpty()) {
                tuned.remove(module.path());
                AdapterRegistry.unregisterTuned(module);
            }
        }
        for (SavedModule module : new ArrayList<>(saved.values())) {
            module.deleteCopy(name);
            if (module.adapters().isEmpty()) {
                saved.remove(module.path());
                AdapterRegistry.unregisterSaved(module);
            }
        }
        List<String> remaining = new ArrayList<>(active);
        remaining.remove(name);
        doSetActive(remaining);
    }

    /** Merges the named adapters into the base weights (with {@code safe}: refuses NaN/Inf results). */
    public void merge(List<String> names, boolean safe) {
        exclusively(() -> doMerge(names, safe));
    }

    private void doMerge(List<String> names, boolean safe) {
        for (String name : names) {
            if (!configs.containsKey(name)) {
                throw unknownAdapter(name);
            }
        }
        for (TunedModule module : tuned.values()) {
            for (String name : names) {
                module.merge(name, safe);
            }
        }
    }

    /** Unmerges every merged adapter, restoring the base weights. */
    public void unmerge() {
        exclusively(this::doUnmerge);
    }

    private void doUnmerge() {
        for (TunedModule module : tuned.values()) {
            module.unmergeAll();
        }
    }

    /** The tuned modules by path, in model order. */
    public synchronized Map<String, TunedModule> tunedModules() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(tuned));
    }

    /** The {@code modules_to_save} modules by path. */
    public synchronized Map<String, SavedModule> savedModules() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(saved));
    }

    /**
     * The whole model's parameters under the names PEFT's injected model has in {@code state_dict()}:
     * {@code fc1.base_layer.weight}, {@code fc1.lora_A.default.weight}, {@code head.original_module.weight},
     * {@code head.modules_to_save.default.weight}, {@code fc2.bias}, ...
     */
    public synchronized LinkedHashMap<String, Parameter> namedParameters() {
        ModuleTree tree = ModuleTree.of(root);
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        Map<Block, SavedModule> savedByBlock = new IdentityHashMap<>();
        saved.values().forEach(s -> savedByBlock.put(s.block(), s));
        for (ModuleNode node : tree.nodes()) {
            SavedModule wrapper = savedByBlock.get(node.block());
            if (wrapper != null) {
                wrapper.originals().forEach((rel, p) -> out.put(node.child("original_module." + rel), p));
                for (String adapter : wrapper.adapters()) {
                    wrapper.copy(adapter).forEach((rel, p) ->
                            out.put(node.child("modules_to_save." + adapter + "." + rel), p));
                }
                continue;
            }
            if (insideSavedModule(tree, node)) {
                continue;
            }
            TunedModule module = tuned.get(node.path());
            for (Pair<String, Parameter> p : node.block().getDirectParameters()) {
                String torch = TorchParameterNames.torchName(node.block(), p.getKey());
                out.put(node.child(module == null ? torch : "base_layer." + torch), p.getValue());
            }
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

    /** Applies PEFT's {@code _mark_only_adapters_as_trainable} to the base parameters. */
    private void applyBaseTrainability() {
        List<AdapterConfig> activeConfigs = new ArrayList<>();
        for (String name : active) {
            activeConfigs.add(configs.get(name));
        }
        ModuleTree tree = ModuleTree.of(root);
        for (ModuleNode node : tree.nodes()) {
            boolean wrapped = insideSavedModule(tree, node);
            TunedModule module = tuned.get(node.path());
            for (Pair<String, Parameter> p : node.block().getDirectParameters()) {
                String torch = TorchParameterNames.torchName(node.block(), p.getKey());
                String fullName = node.child(module == null ? torch : "base_layer." + torch);
                boolean trainable = false;
                for (AdapterConfig config : wrapped ? List.<AdapterConfig>of() : activeConfigs) {
                    trainable |= PeftMethods.of(config).trainsBaseParameter(config, fullName, torch, module != null);
                }
                Parameter parameter = p.getValue();
                if (parameter.requiresGradient() != trainable) {
                    parameter.freeze(!trainable);
                }
            }
        }
    }

    private IllegalArgumentException unknownAdapter(String name) {
        return new IllegalArgumentException("no adapter named '" + name + "' on this model (adapters: "
                + configs.keySet() + ")");
    }
}

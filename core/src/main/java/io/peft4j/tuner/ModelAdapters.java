package io.peft4j.tuner;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftMethods;
import io.peft4j.log.PeftLog;
import io.peft4j.model.ModuleNode;
import io.peft4j.model.ModuleTree;
import io.peft4j.model.TorchParameterNames;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The adapters of one model (a root block), as PEFT keeps them on its tuner layers: the adapters injected with their
 * configs, which are active, whether adapters are disabled, and the life cycle (inject, activate, merge, unmerge,
 * disable, delete); {@link io.peft4j.Peft} is its public face. Injection itself is {@link AdapterInjection}, where the
 * adapters sit is a {@link ModelStructure} made once per injection or deletion, and forward passes and changes
 * exclude each other through a {@link HotSwapLock}.
 */
public final class ModelAdapters {

    private static final PeftLog LOG = PeftLog.get(ModelAdapters.class);

    private final Block root;
    private final HotSwapLock lock = new HotSwapLock(this);
    private final Map<String, AdapterConfig> configs = new LinkedHashMap<>();
    private final Map<String, TunedModule> tuned = new LinkedHashMap<>();
    private final Map<String, SavedModule> saved = new LinkedHashMap<>();
    private ModuleTree tree;
    private ModelStructure structure;
    private List<String> active = List.of();
    private boolean disabled;

    ModelAdapters(Block root) {
        this.root = root;
    }

    /** A forward pass of the model starts: changes to its adapters wait until {@link #endForward()}. */
    public void beginForward() {
        lock.beginForward();
    }

    /** The forward pass started with {@link #beginForward()} ended. */
    public void endForward() {
        lock.endForward();
    }

    /**
     * Runs {@code change} while no forward pass of this model runs, so that every pass sees the adapters either
     * before or after it, never a mix (hot swap). Called from inside a forward pass of this model on the same thread,
     * it runs at once (a read hold cannot be upgraded).
     */
    public <T> T exclusive(Supplier<T> change) {
        return lock.exclusive(change);
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
        // The application may have changed its blocks since the last injection: the tree is built again, once.
        tree = ModuleTree.of(root);
        structure = null;
        AdapterInjection injection = new AdapterInjection(structure(), tuned, saved);
        List<TunedModule> touched;
        try {
            touched = injection.run(config, name);
        } finally {
            structure = null;
        }
        configs.put(name, config);
        doSetActive(List.of(name));
        injection.log(config, name, touched);
        return touched;
    }

    /** Where the adapters sit now; made again only after an injection or a deletion. */
    public synchronized ModelStructure structure() {
        if (structure == null) {
            structure = new ModelStructure(tree != null ? tree : ModuleTree.of(root), tuned, saved);
        }
        return structure;
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
        structure = null;
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

    /** Applies PEFT's {@code _mark_only_adapters_as_trainable} to the base parameters. */
    private void applyBaseTrainability() {
        List<AdapterConfig> activeConfigs = new ArrayList<>();
        for (String name : active) {
            activeConfigs.add(configs.get(name));
        }
        ModelStructure now = structure();
        for (ModuleNode node : now.tree().nodes()) {
            boolean wrapped = now.insideSavedModule(node);
            TunedModule module = now.tuned().get(node.path());
            for (Pair<String, Parameter> p : node.block().getDirectParameters()) {
                String torch = TorchParameterNames.torchName(node.block(), p.getKey());
                String fullName = now.baseParameterName(node, torch);
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

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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    private final Set<String> frozen = new LinkedHashSet<>();
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
        PeftMethods.of(config).checkNewAdapter(config, Collections.unmodifiableMap(configs));
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
        configs.put(name, injection.resolvedConfig());
        if (config.inferenceMode()) {
            frozen.add(name);
            LOG.info("adapter '{}' has inference_mode=true: its parameters are frozen, as in PEFT (setRequiresGrad "
                    + "makes it trainable)", name);
        }
        pushFrozen();
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

    /**
     * Checks a thread's {@link AdapterSelection} against this model at the start of a forward pass, as PEFT's
     * {@code _enable_peft_forward_hooks}: every named adapter exists, no adapter is merged, and no selected adapter
     * keeps {@code modules_to_save} copies other than the active one (the copies follow the model's active set).
     *
     * @throws AdapterSelectionException otherwise
     */
    public synchronized void checkSelection(AdapterSelection selection) {
        java.util.TreeSet<String> unknown = new java.util.TreeSet<>(selection.adapterNames());
        unknown.removeAll(configs.keySet());
        if (!unknown.isEmpty()) {
            throw new AdapterSelectionException("Trying to infer with non-existing adapter(s): "
                    + String.join(", ", unknown) + " (adapters of this model: " + configs.keySet() + ")");
        }
        for (TunedModule module : tuned.values()) {
            if (!module.merged().isEmpty()) {
                throw new AdapterSelectionException(selection.isPerRow()
                        ? "Cannot pass `adapter_names` when there are merged adapters, please call `unmerge_adapter`"
                        + " first. (merged " + module.merged() + " into '" + module.path() + "')"
                        : "Cannot select adapters per thread (" + selection + ") when there are merged adapters, "
                        + "please unmerge first (merged " + module.merged() + " into '" + module.path() + "')");
            }
        }
        for (SavedModule module : saved.values()) {
            for (String name : selection.adapterNames()) {
                if (module.adapters().contains(name) && !name.equals(module.activeCopy())) {
                    throw new AdapterSelectionException("adapter '" + name + "' has its own copy of '" + module.path()
                            + "' (modules_to_save), which follows the model's active adapters only: activate it "
                            + "instead of selecting it per thread or per row");
                }
            }
        }
    }

    /** The active adapter names. */
    public synchronized List<String> activeAdapters() {
        return active;
    }

    /**
     * Activates {@code names} (their deltas add up), as PEFT's {@code set_adapter}: a merged module is unmerged first
     * (with PEFT's warning), only active adapters are trainable, base weights stay frozen.
     *
     * @throws IllegalArgumentException when a name is unknown, or two of them have a copy of the same
     *     {@code modules_to_save} module (PEFT's {@code check_set_adapter}); nothing changes then
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
        for (SavedModule module : saved.values()) {
            module.checkSetAdapter(names);
        }
        active = List.copyOf(names);
        for (TunedModule module : tuned.values()) {
            if (!module.merged().isEmpty()) {
                LOG.warn("Adapter cannot be set when the model is merged. Unmerging the model first. (module '{}', "
                        + "merged {})", module.path(), module.merged());
                module.unmergeAll();
            }
            module.setActive(active);
        }
        for (SavedModule module : saved.values()) {
            module.activate(active, disabled);
        }
        applyBaseTrainability();
    }

    /**
     * PEFT's {@code set_requires_grad(adapter_names, requires_grad)}: whether the named adapters train when active
     * (their layers and {@code modules_to_save} copies). An adapter whose config has {@code inference_mode: true}
     * starts frozen, as in PEFT; this is how to train it anyway. Inactive adapters never train in peft4j.
     */
    public void setRequiresGrad(List<String> names, boolean requiresGrad) {
        exclusively(() -> {
            names.forEach(this::config);
            if (requiresGrad) {
                frozen.removeAll(names);
            } else {
                frozen.addAll(names);
            }
            pushFrozen();
            for (SavedModule module : saved.values()) {
                module.activate(active, disabled);
            }
        });
    }

    /** Whether adapter {@code name} trains while active (see {@link #setRequiresGrad}). */
    public synchronized boolean requiresGrad(String name) {
        config(name);
        return !frozen.contains(name);
    }

    private void pushFrozen() {
        for (TunedModule module : tuned.values()) {
            module.setFrozen(frozen);
        }
        for (SavedModule module : saved.values()) {
            module.setFrozen(frozen);
        }
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

    /**
     * Deletes adapter {@code name} from every module, as PEFT's {@code delete_adapter}: a merged adapter is not
     * unmerged (its delta stays in the base weights); when it was a module's only active adapter, that module
     * activates its first remaining adapter by name (a warning says so); the model's active adapters are then those
     * of its first adapted module.
     *
     * @throws IllegalArgumentException when there is no such adapter, or the new active adapters would be several
     *     while {@code name} has {@code modules_to_save} copies (PEFT's {@code ModulesToSaveWrapper} refuses); nothing
     *     changes then
     */
    public void deleteAdapter(String name) {
        exclusively(() -> doDelete(name));
    }

    private void doDelete(String name) {
        if (!configs.containsKey(name)) {
            throw unknownAdapter(name);
        }
        List<TunedModule> modules = tunedInModelOrder();
        List<String> next = modules.isEmpty() ? List.of() : modules.get(0).activeAfterDeleting(name);
        for (SavedModule module : saved.values()) {
            if (!module.copy(name).isEmpty() && next.size() > 1) {
                throw new IllegalArgumentException("Attempted to set multiple (" + next + ") adapters at once for "
                        + "modules_to_save module '" + module.path() + "', which is not allowed (deleting adapter '"
                        + name + "'); activate one adapter first");
            }
        }
        configs.remove(name);
        frozen.remove(name);
        for (TunedModule module : modules) {
            module.deleteAdapter(name);
            if (module.adapters().isEmpty() && module.merged().isEmpty()) {
                tuned.remove(module.path());
                AdapterRegistry.unregisterTuned(module);
            }
        }
        for (SavedModule module : new ArrayList<>(saved.values())) {
            if (module.copy(name).isEmpty()) {
                continue;
            }
            module.deleteCopy(name);
            if (module.adapters().isEmpty()) {
                saved.remove(module.path());
                AdapterRegistry.unregisterSaved(module);
            } else {
                module.activate(next, disabled);
            }
        }
        structure = null;
        active = next;
        applyBaseTrainability();
    }

    /** The tuned modules in the model's module order (PEFT walks {@code named_modules()}). */
    private List<TunedModule> tunedInModelOrder() {
        List<TunedModule> out = new ArrayList<>();
        for (ModuleNode node : structure().tree().nodes()) {
            TunedModule module = tuned.get(node.path());
            if (module != null) {
                out.add(module);
            }
        }
        return out;
    }

    /**
     * Merges the named adapters into the base weights (with {@code safe}: refuses NaN/Inf results), as PEFT's
     * {@code merge_adapter}: adapters already merged are skipped, and a merged module runs its base layer only, so
     * active adapters left unmerged no longer add their deltas there. While adapters are disabled nothing is merged
     * (PEFT would unmerge again at the next forward pass).
     */
    public void merge(List<String> names, boolean safe) {
        exclusively(() -> doMerge(names, safe));
    }

    private void doMerge(List<String> names, boolean safe) {
        for (String name : names) {
            if (!configs.containsKey(name)) {
                throw unknownAdapter(name);
            }
        }
        if (disabled) {
            LOG.warn("adapters are disabled: {} not merged (a disabled PEFT model unmerges at its next forward pass)",
                    names);
            return;
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

    /**
     * PEFT's {@code merge_and_unload}: merges {@code names} ({@code null}: each module's active adapters) into the base
     * weights, makes the active copy of every {@code modules_to_save} module the module's own weights, and removes
     * every adapter: the root block is a plain DJL model again, whose {@code getParameters()} and outputs are those
     * of a base model with the merged weights.
     *
     * @return the root block
     * @throws IllegalStateException when a {@code modules_to_save} module has no active copy (PEFT fails there too);
     *     nothing changes then
     */
    public Block mergeAndUnload(List<String> names, boolean safe) {
        return exclusive(() -> unloadAll(true, names, safe));
    }

    /**
     * PEFT's {@code unload}: removes every adapter without merging (modules merged before stay merged, as in PEFT);
     * {@code modules_to_save} modules keep their active copy's weights.
     *
     * @return the root block
     * @throws IllegalStateException when a {@code modules_to_save} module has no active copy; nothing changes then
     */
    public Block unload() {
        return exclusive(() -> unloadAll(false, null, false));
    }

    private Block unloadAll(boolean merge, List<String> names, boolean safe) {
        if (names != null) {
            names.forEach(this::config);
        }
        for (SavedModule module : saved.values()) {
            module.activeCopy();
        }
        if (merge) {
            for (TunedModule module : tunedInModelOrder()) {
                for (String name : names != null ? names : module.active()) {
                    module.merge(name, safe);
                }
            }
        }
        for (SavedModule module : saved.values()) {
            AdapterRegistry.unregisterSaved(module);
            module.keepActiveCopy();
        }
        for (TunedModule module : tuned.values()) {
            module.adapters().keySet().forEach(module::forget);
            AdapterRegistry.unregisterTuned(module);
        }
        LOG.info("{} {} adapters {} from the model: it is a plain model again", merge ? "merged and unloaded"
                : "unloaded", configs.size(), configs.keySet());
        saved.clear();
        tuned.clear();
        configs.clear();
        frozen.clear();
        active = List.of();
        disabled = false;
        structure = null;
        AdapterRegistry.forget(this);
        return root;
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

package io.peft4j.tuner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.peft4j.layer.FusedWeights;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A base block that one or more adapters target (PEFT's tuner layer): the adapters by name, which are active, which
 * are merged into the base weights and whether adapters are disabled. The forward interception asks this object what
 * to add to the block's output.
 *
 * <p>Changes publish a new immutable {@link State}, so a forward pass running on another thread sees either the old
 * or the new set of adapters, never a mix.
 */
public final class TunedModule {

    private static final PeftLog LOG = PeftLog.get(TunedModule.class);

    private final String path;
    private final Block block;
    private final Map<String, ModuleAdapter> adapters = new LinkedHashMap<>();
    private final Set<String> merged = new LinkedHashSet<>();
    private List<String> active = List.of();
    private Set<String> frozen = Set.of();
    private boolean disabled;
    private volatile State state = new State(List.of(), false, new PairList<>(), Map.of(), false);

    /**
     * What readers on other threads see, fixed per change: the adapters that take part in a forward pass, every
     * adapter's parameters for {@code getParameters()}, every adapter by name and whether any is merged (for the
     * per-thread selections of {@link AdapterSelection}).
     */
    record State(List<ModuleAdapter> forward, boolean disabled, PairList<String, Parameter> parameters,
            Map<String, ModuleAdapter> all, boolean merged) {

        /** The adapters of {@code names} this module has, in the order of {@code names}. */
        List<ModuleAdapter> select(List<String> names) {
            List<ModuleAdapter> out = new ArrayList<>(names.size());
            for (String name : names) {
                ModuleAdapter adapter = all.get(name);
                if (adapter != null) {
                    out.add(adapter);
                }
            }
            return out;
        }
    }

    /** Creates the record for {@code block} at {@code path}. */
    public TunedModule(String path, Block block) {
        this.path = path;
        this.block = block;
    }

    /** The module's dotted path in its model. */
    public String path() {
        return path;
    }

    /** The base block. */
    public Block block() {
        return block;
    }

    /** The adapters by name, in injection order. */
    public synchronized Map<String, ModuleAdapter> adapters() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
    }

    /** The adapter named {@code name}, or {@code null}. */
    public synchronized ModuleAdapter adapter(String name) {
        return adapters.get(name);
    }

    /** Adds an adapter (replacing none: the caller checks names); it is frozen until it is activated. */
    public synchronized void addAdapter(ModuleAdapter adapter) {
        adapters.put(adapter.adapterName(), adapter);
        adapter.setTrainable(false);
        publish();
    }

    /**
     * Removes and closes the adapter named {@code name}, as PEFT's {@code BaseTunerLayer.delete_adapter}: a merged
     * adapter is not unmerged (its delta stays in the base weights and the module stays merged, so that a later
     * unmerge skips it), and when it was the module's only active adapter, the first remaining adapter in name
     * order becomes active (with PEFT's warning).
     *
     * @return the module's active adapters afterwards
     */
    public synchronized List<String> deleteAdapter(String name) {
        List<String> next = activeAfterDeleting(name);
        ModuleAdapter removed = adapters.remove(name);
        if (!next.equals(active)) {
            if (active.equals(List.of(name)) && !next.isEmpty()) {
                LOG.warn("Adapter {} was active which is now deleted. Setting active adapter to {}. (module '{}')",
                        name, next.get(0), path);
            }
            setActive(next);
        }
        if (merged.contains(name)) {
            LOG.warn("adapter '{}' was merged into '{}' and is deleted: its delta stays in the base weights, as in "
                    + "PEFT (unmerge first to remove it)", name, path);
        }
        publish();
        if (removed != null) {
            removed.close();
        }
        return active;
    }

    /**
     * For unloading: removes and closes adapter {@code name} without unmerging it or changing what is active (a
     * merged delta stays in the base weights).
     */
    public synchronized void forget(String name) {
        ModuleAdapter removed = adapters.remove(name);
        merged.remove(name);
        active = List.of();
        publish();
        if (removed != null) {
            removed.close();
        }
    }

    /** The active adapters {@link #deleteAdapter(String)} would leave; changes nothing. */
    public synchronized List<String> activeAfterDeleting(String name) {
        if (!active.contains(name)) {
            return active;
        }
        List<String> rest = new ArrayList<>(active);
        rest.remove(name);
        if (rest.isEmpty()) {
            TreeSet<String> remaining = new TreeSet<>(adapters.keySet());
            remaining.remove(name);
            if (!remaining.isEmpty()) {
                rest.add(remaining.first());
            }
        }
        return List.copyOf(rest);
    }

    /**
     * Sets the active adapter names (names this module does not have are kept but contribute nothing); the active
     * adapters that are not {@linkplain #setFrozen frozen} become trainable, the others frozen (PEFT's
     * {@code BaseTunerLayer.set_adapter} with the adapter's {@code inference_mode}).
     */
    public synchronized void setActive(List<String> names) {
        active = List.copyOf(names);
        applyTrainability();
        publish();
    }

    /**
     * Sets the adapters that must not train even when active ({@code inference_mode}, or
     * {@code set_requires_grad(..., False)}), and applies it.
     */
    public synchronized void setFrozen(Set<String> names) {
        frozen = Set.copyOf(names);
        applyTrainability();
    }

    private void applyTrainability() {
        for (ModuleAdapter adapter : adapters.values()) {
            String name = adapter.adapterName();
            adapter.setTrainable(active.contains(name) && !frozen.contains(name));
        }
    }

    /** The active adapter names. */
    public synchronized List<String> active() {
        return active;
    }

    /** Disables (base output only) or re-enables the adapters. */
    public synchronized void setDisabled(boolean disabled) {
        this.disabled = disabled;
        publish();
    }

    /** Whether the adapters are disabled. */
    public synchronized boolean isDisabled() {
        return disabled;
    }

    /** Names of the adapters currently merged into the base weights. */
    public synchronized Set<String> merged() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(merged));
    }

    /**
     * Merges the named adapter into the base weights (no-op when already merged or absent); from then on the module
     * runs its base layer only.
     */
    public synchronized void merge(String name, boolean safe) {
        ModuleAdapter adapter = adapters.get(name);
        if (adapter == null || merged.contains(name)) {
            return;
        }
        adapter.merge(safe);
        merged.add(name);
        publish();
    }

    /**
     * Unmerges every merged adapter, last merged first; an adapter deleted while merged is only forgotten (its delta
     * stays in the base weights, as in PEFT).
     */
    public synchronized void unmergeAll() {
        List<String> order = new ArrayList<>(merged);
        Collections.reverse(order);
        for (String name : order) {
            ModuleAdapter adapter = adapters.get(name);
            if (adapter != null) {
                adapter.unmerge();
            }
            merged.remove(name);
        }
        publish();
    }

    /**
     * As PEFT's tuner layers' {@code forward}: a merged module runs its base layer only (its merged weights), even when
     * other active adapters are not merged; otherwise every active adapter it has adds its delta.
     */
    private void publish() {
        List<ModuleAdapter> forward = new ArrayList<>();
        for (String name : merged.isEmpty() ? active : List.<String>of()) {
            ModuleAdapter adapter = adapters.get(name);
            if (adapter != null) {
                forward.add(adapter);
            }
        }
        PairList<String, Parameter> parameters = new PairList<>();
        for (ModuleAdapter adapter : adapters.values()) {
            adapter.parameters().forEach(parameters::add);
        }
        state = new State(List.copyOf(forward), disabled, parameters, Map.copyOf(adapters), !merged.isEmpty());
    }

    /**
     * Called before the base forward: lets adapters rewrite the input. With a per-thread {@link AdapterSelection},
     * the selected adapters take part instead of the active ones (every row, or each its rows).
     */
    public NDList beforeForward(ParameterStore store, NDList inputs, boolean training) {
        State s = state;
        AdapterSelection selection = AdapterSelection.current();
        if (s.disabled() || (selection == null && s.forward().isEmpty())) {
            return inputs;
        }
        if (selection != null) {
            check(selection, s, inputs.head(), training);
            if (selection.isPerRow()) {
                return beforeForwardPerRow(store, inputs, training, selection, s);
            }
        }
        List<ModuleAdapter> taking = selection == null ? s.forward() : s.select(selection.names());
        NDList current = inputs;
        for (ModuleAdapter adapter : taking) {
            current = adapter.beforeForward(store, current, training);
        }
        if (!training && taking.size() == 1) {
            offerFusedWeight(taking.get(0), store, inputs.head());
        }
        return current;
    }

    /**
     * At inference with one adapter on every row: a small layer's base forward computes with the weight the adapter
     * is fused into ({@link FusedWeights}), and {@link #afterForward} adds nothing. Where the adapter cannot fuse, or
     * fusing fails, the forward goes the usual way (which reports a broken adapter itself).
     */
    private static void offerFusedWeight(ModuleAdapter adapter, ParameterStore store, NDArray x) {
        FusedWeights.Offer offer;
        try {
            offer = adapter.fusedWeight(store, x.getDevice());
        } catch (RuntimeException e) {
            offer = null;
        }
        if (offer != null) {
            FusedWeights.offer(offer);
        }
    }

    /** Called after the base forward: adds the active (or selected) adapters' deltas to the output. */
    public NDList afterForward(ParameterStore store, NDList inputs, boolean training, NDList output) {
        if (FusedWeights.inUse() && FusedWeights.finish()) {
            return output;
        }
        State s = state;
        AdapterSelection selection = AdapterSelection.current();
        if (s.disabled() || (selection == null && s.forward().isEmpty())) {
            return output;
        }
        NDArray x = inputs.head();
        NDArray y = output.head();
        NDArray result = y;
        if (selection != null && selection.isPerRow()) {
            check(selection, s, x, training);
            result = afterForwardPerRow(store, x, y, training, selection, s);
        } else {
            for (ModuleAdapter adapter : selection == null ? s.forward() : s.select(selection.names())) {
                result = adapter.afterForward(store, x, result, training);
            }
        }
        if (result == y) {
            return output;
        }
        NDList replaced = new NDList(result);
        for (int i = 1; i < output.size(); i++) {
            replaced.add(output.get(i));
        }
        return replaced;
    }

    /**
     * PEFT's {@code _check_forward_args} for one module: the per-row list covers the batch, no mixed batch while
     * training, no selection while adapters are merged, adapters that can run on a subset of rows.
     */
    private void check(AdapterSelection selection, State s, NDArray x, boolean training) {
        if (s.merged()) {
            throw new AdapterSelectionException(selection.isPerRow()
                    ? "Cannot pass `adapter_names` when there are merged adapters, please call `unmerge_adapter` first."
                    + " (module '" + path + "')"
                    : "Cannot select adapters per thread (" + selection + ") when there are merged adapters, please "
                    + "unmerge first (module '" + path + "')");
        }
        if (!selection.isPerRow()) {
            return;
        }
        if (training) {
            throw new AdapterSelectionException("Cannot pass `adapter_names` when the model is in training mode.");
        }
        long batch = x.getShape().dimension() == 0 ? 1 : x.getShape().get(0);
        if (batch != selection.rows().size()) {
            throw new AdapterSelectionException("Length of `adapter_names` should be the same as the number of "
                    + "inputs, but got " + selection.rows().size() + " and " + batch + " respectively. (module '"
                    + path + "')");
        }
        for (String name : selection.groups().keySet()) {
            ModuleAdapter adapter = s.all().get(name);
            if (adapter != null && !adapter.rowWise()) {
                throw new AdapterSelectionException(adapter.adapterType() + " adapter '" + name + "' on '" + path
                        + "' does not support mixed adapter batches.");
            }
        }
    }

    /** The input of each adapter's rows rewritten by that adapter (IA3 on feed-forward modules); other rows kept. */
    private static NDList beforeForwardPerRow(ParameterStore store, NDList inputs, boolean training,
            AdapterSelection selection, State s) {
        NDArray x = inputs.head();
        NDArray rewritten = null;
        for (String name : selection.groups().keySet()) {
            ModuleAdapter adapter = s.all().get(name);
            if (adapter == null) {
                continue;
            }
            try (NDScope scope = new NDScope()) {
                NDIndex rows = selection.rowIndex(name, x);
                NDList part = new NDList(x.get(rows));
                for (int i = 1; i < inputs.size(); i++) {
                    part.add(inputs.get(i));
                }
                NDList out = adapter.beforeForward(store, part, training);
                if (out.head() != part.head()) {
                    if (rewritten == null) {
                        rewritten = x.duplicate();
                        NDScope.unregister(rewritten);
                    }
                    rewritten.set(rows, out.head());
                }
            }
        }
        if (rewritten == null) {
            return inputs;
        }
        NDList replaced = new NDList(rewritten);
        for (int i = 1; i < inputs.size(); i++) {
            replaced.add(inputs.get(i));
        }
        return replaced;
    }

    /**
     * PEFT's {@code _mixed_batch_forward}: each adapter runs on its rows only (rows gathered, the adapter's forward on
     * the sub-batch, the result written back into those rows); base rows and rows of adapters this module does not
     * have keep the base output.
     */
    private static NDArray afterForwardPerRow(ParameterStore store, NDArray x, NDArray y, boolean training,
            AdapterSelection selection, State s) {
        for (String name : selection.groups().keySet()) {
            ModuleAdapter adapter = s.all().get(name);
            if (adapter == null) {
                continue;
            }
            try (NDScope scope = new NDScope()) {
                NDIndex rows = selection.rowIndex(name, x);
                NDArray part = adapter.afterForward(store, x.get(rows), y.get(rows), training);
                y.set(rows, part);
            }
        }
        return y;
    }

    /**
     * The adapters' parameters for DJL's {@code getParameters()}, under their PEFT in-module names: one list per
     * change of this module, shared by every caller (do not modify it).
     */
    public PairList<String, Parameter> parameterList() {
        return state.parameters();
    }
}

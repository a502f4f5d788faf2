package io.peft4j.tuner;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.WeightUpdate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A module listed in {@code modules_to_save} (PEFT's {@code ModulesToSaveWrapper}): per adapter a trainable copy of
 * every parameter of the module's subtree. While an adapter is active, every parameter fetch of the original goes to
 * that adapter's copy instead; disabled, or with no copy active, the original parameters are used unchanged.
 */
public final class SavedModule {

    private final String path;
    private final Block block;
    private final Map<String, Parameter> originals;
    private final Map<Parameter, String> originalNames = new IdentityHashMap<>();
    private final Map<String, Map<String, Parameter>> copies = new LinkedHashMap<>();
    private volatile Map<Parameter, Parameter> substitution = Map.of();
    private String activeCopy;
    private Set<String> frozen = Set.of();
    private volatile PairList<String, Parameter> parameterList = new PairList<>();

    /**
     * Wraps {@code block} at {@code path}.
     *
     * @param originals the subtree's parameters by their torch names relative to the module (e.g. {@code weight},
     *     {@code 0.bias})
     */
    public SavedModule(String path, Block block, Map<String, Parameter> originals) {
        this.path = path;
        this.block = block;
        this.originals = Collections.unmodifiableMap(new LinkedHashMap<>(originals));
        originals.forEach((name, p) -> originalNames.put(p, name));
    }

    /** The module's dotted path. */
    public String path() {
        return path;
    }

    /** The wrapped block. */
    public Block block() {
        return block;
    }

    /** The original parameters by torch name relative to the module. */
    public Map<String, Parameter> originals() {
        return originals;
    }

    /** Adds a trainable copy for {@code adapter} (values copied from the originals), unless it has one. */
    public synchronized void addCopy(String adapter) {
        if (copies.containsKey(adapter)) {
            return;
        }
        Map<String, Parameter> copy = new LinkedHashMap<>();
        originals.forEach((name, p) -> copy.put(name,
                AdapterParameters.create("modules_to_save." + adapter + "." + name, p.getArray().duplicate())));
        copies.put(adapter, copy);
        listParameters();
    }

    /** The copy for {@code adapter} by relative torch name, or an empty map. */
    public synchronized Map<String, Parameter> copy(String adapter) {
        Map<String, Parameter> copy = copies.get(adapter);
        return copy == null ? Map.of() : Collections.unmodifiableMap(copy);
    }

    /** The adapters that have a copy. */
    public synchronized List<String> adapters() {
        return new ArrayList<>(copies.keySet());
    }

    /** Removes and closes the copy of {@code adapter}. */
    public synchronized void deleteCopy(String adapter) {
        Map<String, Parameter> copy = copies.remove(adapter);
        if (copy != null) {
            copy.values().forEach(Parameter::close);
            listParameters();
        }
    }

    /**
     * Sets the adapters whose copy must not train even when active ({@code inference_mode}); applied at the next
     * {@link #activate}.
     */
    public synchronized void setFrozen(Set<String> names) {
        frozen = Set.copyOf(names);
    }

    /**
     * PEFT's {@code ModulesToSaveWrapper.check_set_adapter}: at most one of {@code names} may have a copy here, since
     * the module can only run one copy.
     *
     * @throws IllegalArgumentException with PEFT's message when two or more do
     */
    public synchronized void checkSetAdapter(List<String> names) {
        List<String> here = new ArrayList<>();
        for (String name : names) {
            if (copies.containsKey(name)) {
                here.add(name);
            }
        }
        if (here.size() > 1) {
            throw new IllegalArgumentException("Only one adapter can be set at a time for modules_to_save module '"
                    + path + "', got " + here.size() + " (" + here + " each have a copy of it)");
        }
    }

    /**
     * Makes the copy of the first of {@code active} that has one take the originals' place ({@code disabled}: none
     * does); only that copy is trainable, unless it is frozen.
     */
    public synchronized void activate(List<String> active, boolean disabled) {
        activeCopy = null;
        for (String name : active) {
            if (copies.containsKey(name)) {
                activeCopy = name;
                break;
            }
        }
        String chosen = disabled ? null : activeCopy;
        Map<Parameter, Parameter> map = new IdentityHashMap<>();
        for (Map.Entry<String, Map<String, Parameter>> e : copies.entrySet()) {
            boolean on = e.getKey().equals(chosen);
            boolean trains = on && !frozen.contains(e.getKey());
            for (Parameter p : e.getValue().values()) {
                if (p.requiresGradient() != trains) {
                    p.freeze(!trains);
                }
            }
            if (on) {
                e.getValue().forEach((name, p) -> map.put(originals.get(name), p));
            }
        }
        substitution = map;
    }

    /**
     * The adapter whose copy is active (also while adapters are disabled).
     *
     * @throws IllegalStateException when no copy is active (PEFT's {@code unload_and_optionally_merge_module} fails
     *     then too)
     */
    public synchronized String activeCopy() {
        if (activeCopy == null) {
            throw new IllegalStateException("modules_to_save module '" + path + "' has no active copy (adapters "
                    + copies.keySet() + " are not active): activate one of them, or delete it, before unloading");
        }
        return activeCopy;
    }

    /**
     * For unloading ({@code merge_and_unload}, {@code unload}): writes the active copy's values into the original
     * parameters, as PEFT returns {@code modules_to_save[active_adapter]} in the module's place, and closes every copy.
     */
    public synchronized void keepActiveCopy() {
        Map<String, Parameter> kept = copies.get(activeCopy());
        kept.forEach((name, p) -> WeightUpdate.copyInto(originals.get(name).getArray(), p.getArray()));
        substitution = Map.of();
        for (Map<String, Parameter> copy : copies.values()) {
            copy.values().forEach(Parameter::close);
        }
        copies.clear();
        listParameters();
    }

    /** The value to use for {@code parameter} in a forward pass: the active copy's, or {@code value} unchanged. */
    public NDArray substitute(ParameterStore store, Parameter parameter, Device device, boolean training,
            NDArray value) {
        Parameter replacement = substitution.get(parameter);
        return replacement == null ? value : store.getValue(replacement, device, training);
    }

    /** Whether {@code parameter} is one of the wrapped originals. */
    public boolean wraps(Parameter parameter) {
        return originalNames.containsKey(parameter);
    }

    /**
     * Every copy's parameters for DJL's {@code getParameters()}, named {@code modules_to_save.<adapter>.<name>}: one
     * list per added or deleted copy, shared by every caller (do not modify it).
     */
    public PairList<String, Parameter> parameterList() {
        return parameterList;
    }

    private void listParameters() {
        PairList<String, Parameter> list = new PairList<>();
        for (Map<String, Parameter> copy : copies.values()) {
            for (Parameter p : copy.values()) {
                list.add(p.getName(), p);
            }
        }
        parameterList = list;
    }
}

package io.peft4j.tuner;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.PairList;

/**
 * Process-wide lookups from DJL objects to peft4j state, used on the hot path by the forward interception: which
 * blocks are tuned, which parameters are substituted, which models carry adapters. Keys are weak: a model that the
 * application drops is collected with its adapters.
 */
public final class AdapterRegistry {

    private static final WeakIdentityMap<Block, TunedModule> TUNED = new WeakIdentityMap<>();
    private static final WeakIdentityMap<Block, SavedModule> SAVED = new WeakIdentityMap<>();
    private static final WeakIdentityMap<Parameter, SavedModule> SUBSTITUTED = new WeakIdentityMap<>();
    private static final WeakIdentityMap<Block, ModelAdapters> MODELS = new WeakIdentityMap<>();
    private static volatile boolean anySubstitution;

    private AdapterRegistry() {}

    /** The tuned-module record of {@code block}, or {@code null} (the common case). */
    public static TunedModule tuned(Object block) {
        return block instanceof Block ? TUNED.get((Block) block) : null;
    }

    /** The adapters of the model whose root is {@code root}, or {@code null}. */
    public static ModelAdapters model(Block root) {
        return MODELS.get(root);
    }

    /** Every model that carries adapters. */
    public static java.util.List<ModelAdapters> models() {
        return MODELS.values();
    }

    /** The model adapters for {@code root}, created on first use. */
    public static ModelAdapters modelFor(Block root) {
        return MODELS.computeIfAbsent(root, ModelAdapters::new);
    }

    /** Forgets {@code model} once it carries no adapter any more (after unloading). */
    static void forget(ModelAdapters model) {
        MODELS.remove(model.root());
    }

    static void registerTuned(TunedModule module) {
        TUNED.put(module.block(), module);
    }

    static void unregisterTuned(TunedModule module) {
        TUNED.remove(module.block());
    }

    static void registerSaved(SavedModule module) {
        SAVED.put(module.block(), module);
        for (Parameter p : module.originals().values()) {
            SUBSTITUTED.put(p, module);
        }
        anySubstitution = true;
    }

    static void unregisterSaved(SavedModule module) {
        SAVED.remove(module.block());
        for (Parameter p : module.originals().values()) {
            SUBSTITUTED.remove(p);
        }
    }

    /** Whether any parameter is substituted anywhere (one volatile read on the parameter-fetch hot path). */
    public static boolean anySubstitution() {
        return anySubstitution;
    }

    /** The saved module that substitutes {@code parameter}, or {@code null}. */
    public static SavedModule substitutionFor(Parameter parameter) {
        return SUBSTITUTED.get(parameter);
    }

    /** Parameters peft4j attaches to {@code block} for DJL's {@code getParameters()}, or {@code null}. */
    public static PairList<String, Parameter> attachedParameters(Object block) {
        if (!(block instanceof Block)) {
            return null;
        }
        TunedModule tuned = TUNED.get((Block) block);
        SavedModule saved = SAVED.get((Block) block);
        if (tuned == null && saved == null) {
            return null;
        }
        PairList<String, Parameter> list = new PairList<>();
        if (tuned != null) {
            list.addAll(tuned.parameterList());
        }
        if (saved != null) {
            list.addAll(saved.parameterList());
        }
        return list;
    }
}

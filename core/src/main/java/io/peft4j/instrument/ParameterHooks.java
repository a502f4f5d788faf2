package io.peft4j.instrument;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.peft4j.layer.FusedWeights;
import io.peft4j.traced.TracedTraining;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.SavedModule;

/**
 * What the calls woven into DJL's parameter access run: appends adapter parameters to a tuned block's
 * {@code getParameters()} (so DJL's Trainer initialises, checks and updates them, while {@code saveParameters} — which
 * uses {@code getDirectParameters()} — never writes them into the user's model file), and substitutes
 * {@code modules_to_save} copies for the originals in {@code ParameterStore.getValue}.
 */
public final class ParameterHooks {

    private ParameterHooks() {}

    /** Appends the parameters peft4j attached to {@code block}. */
    public static void appendAttached(Object block, Object list) {
        try {
            PairList<String, Parameter> attached = AdapterRegistry.attachedParameters(block);
            if (attached != null) {
                ((ParameterList) list).addAll(attached);
            }
            PairList<String, Parameter> trained = TracedTraining.attached(block);
            if (trained != null) {
                ((ParameterList) list).addAll(trained);
            }
        } catch (Throwable t) {
            AdviceErrors.hookFailed(block.getClass().getName(), "parameters", "listing its parameters", t);
        }
    }

    /**
     * Woven before {@code ParameterStore.getValue} returns: two volatile reads unless some module is in
     * {@code modules_to_save} or a small layer's adapter was fused into its weight ({@link FusedWeights}).
     */
    public static Object substituteValue(Object value, Object store, Object parameter, Object device,
            boolean training) {
        if (parameter == null) {
            return value;
        }
        if (AdapterRegistry.anySubstitution()) {
            Object saved = substitute(store, parameter, device, training, value);
            if (saved != value) {
                return saved; // a modules_to_save copy wins; an offered fused weight then stays unused
            }
        }
        return FusedWeights.inUse() ? FusedWeights.exchange(value) : value;
    }

    /** The value to use for {@code parameter}: a {@code modules_to_save} copy's, or {@code value}. */
    public static Object substitute(Object store, Object parameter, Object device, boolean training, Object value) {
        Parameter p = (Parameter) parameter;
        SavedModule module;
        try {
            module = AdapterRegistry.substitutionFor(p);
        } catch (Throwable t) {
            AdviceErrors.record("finding the modules_to_save copy of a parameter", t);
            return value;
        }
        if (module == null) {
            return value;
        }
        try {
            return module.substitute((ParameterStore) store, p, (Device) device, training, (NDArray) value);
        } catch (Throwable t) {
            AdviceErrors.hookFailed(module.path(), "modules_to_save", "fetching parameter " + p.getName(), t);
            return value;
        }
    }
}

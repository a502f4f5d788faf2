package io.peft4j.instrument;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Checks after every {@code Trainer.step()} that the trainable adapter parameters of the model are finite (one
 * {@code max(|p|)} per parameter, one value read back for the whole model), since only a step changes them. A
 * non-finite value stops training with {@link NonFiniteAdapterException} naming module, parameter and step; with
 * {@link Policy#REVERT} (agent option {@code onNonFinite=revert}, or {@link #setPolicy}) the parameters are put back
 * to their values before the step (copied before each step only under that policy) and training goes on, until
 * {@value #MAX_REVERTS} steps in a row were reverted (the optimizer's own state is then non-finite too).
 */
public final class NonFiniteGuard {

    /** What a non-finite adapter after a step does. */
    public enum Policy {
        /** Training stops with {@link NonFiniteAdapterException} (the default). */
        FAIL,
        /** The step is undone (logged and counted), training goes on. */
        REVERT
    }

    /** Consecutive reverted steps after which training stops anyway. */
    public static final int MAX_REVERTS = 3;

    private static final PeftLog LOG = PeftLog.get(NonFiniteGuard.class);

    private static volatile Policy policy = Policy.FAIL;

    /** Per model root: steps seen, consecutive reverts, and the values before the current step (REVERT only). */
    private static final class State {
        long steps;
        int reverts;
        long reverted;
        Map<Parameter, NDArray> before = new IdentityHashMap<>();
    }

    private static final Map<Block, State> STATES = new WeakHashMap<>();

    private NonFiniteGuard() {}

    /** Sets the policy for every model of this JVM (the Java API switch; the agent sets it from its options). */
    public static void setPolicy(Policy newPolicy) {
        policy = newPolicy == null ? Policy.FAIL : newPolicy;
    }

    /** The current policy. */
    public static Policy policy() {
        return policy;
    }

    /** Steps reverted so far for {@code root} (0 when none or not training). */
    public static synchronized long revertedSteps(Block root) {
        State s = STATES.get(root);
        return s == null ? 0 : s.reverted;
    }

    private static synchronized State state(Block root) {
        return STATES.computeIfAbsent(root, r -> new State());
    }

    /** Before {@code Trainer.step()}: under {@link Policy#REVERT}, keeps a copy of every trainable adapter value. */
    static void beforeStep(Block root) {
        if (policy != Policy.REVERT) {
            return;
        }
        ModelAdapters model = AdapterRegistry.model(root);
        if (model == null) {
            return;
        }
        State state = state(root);
        closeCopies(state);
        for (Checked c : trainable(model)) {
            state.before.put(c.parameter, c.parameter.getArray().duplicate());
        }
    }

    /**
     * After {@code Trainer.step()}: checks the trainable adapter parameters of {@code root}.
     *
     * @throws NonFiniteAdapterException naming module, parameter and step
     */
    static void afterStep(Block root) {
        ModelAdapters model = AdapterRegistry.model(root);
        if (model == null) {
            return;
        }
        State state = state(root);
        long step = ++state.steps;
        List<Checked> checked = trainable(model);
        if (checked.isEmpty() || allFinite(checked)) {
            state.reverts = 0;
            closeCopies(state);
            return;
        }
        Checked bad = firstNonFinite(checked);
        String where = "adapter parameter '" + bad.name + "' of module '" + bad.module + "'";
        if (policy == Policy.REVERT && state.reverts < MAX_REVERTS - 1 && !state.before.isEmpty()) {
            for (Map.Entry<Parameter, NDArray> e : state.before.entrySet()) {
                e.getKey().getArray().set(e.getValue().toByteBuffer());
            }
            state.reverts++;
            state.reverted++;
            closeCopies(state);
            LOG.warn("training step {} made {} non-finite (NaN or Inf); onNonFinite=revert: the step was undone "
                    + "({} in a row)", step, where, state.reverts);
            return;
        }
        closeCopies(state);
        String why = policy == Policy.REVERT
                ? " (" + MAX_REVERTS + " steps in a row were non-finite: the optimizer's state is likely non-finite"
                        + " too; lower the learning rate or check the data)"
                : " (set onNonFinite=revert, or NonFiniteGuard.setPolicy(REVERT), to undo such steps instead)";
        throw new NonFiniteAdapterException(bad.module, bad.name, step, "training step " + step + " made " + where
                + " non-finite (NaN or Inf); training stopped" + why);
    }

    /** One trainable adapter parameter, with its module and name. */
    private record Checked(String module, String name, Parameter parameter) {}

    private static List<Checked> trainable(ModelAdapters model) {
        List<Checked> out = new ArrayList<>();
        for (Map.Entry<String, TunedModule> m : model.tunedModules().entrySet()) {
            for (ModuleAdapter adapter : m.getValue().adapters().values()) {
                for (Map.Entry<String, Parameter> p : adapter.parameters().entrySet()) {
                    Parameter parameter = p.getValue();
                    if (parameter.requiresGradient() && parameter.isInitialized()
                            && parameter.getArray().getDataType().isFloating()) {
                        out.add(new Checked(m.getKey(), p.getKey(), parameter));
                    }
                }
            }
        }
        return out;
    }

    /** One reduction per parameter, one value read back: {@code max_p max|p|} is finite iff every value is. */
    private static boolean allFinite(List<Checked> checked) {
        NDList maxima = new NDList(checked.size());
        try {
            for (Checked c : checked) {
                NDArray abs = c.parameter.getArray().abs();
                NDArray max = abs.max();
                NDArray asFloat = max.toType(DataType.FLOAT32, false);
                if (asFloat != max) {
                    max.close();
                }
                maxima.add(asFloat);
                abs.close();
            }
            try (NDArray all = NDArrays.stack(maxima); NDArray top = all.max()) {
                return Float.isFinite(top.getFloat());
            }
        } finally {
            maxima.close();
        }
    }

    private static Checked firstNonFinite(List<Checked> checked) {
        for (Checked c : checked) {
            if (!allFinite(List.of(c))) {
                return c;
            }
        }
        return checked.get(0);
    }

    private static void closeCopies(State state) {
        state.before.values().forEach(NDArray::close);
        state.before.clear();
    }
}

package io.peft4j.instrument;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.AdapterSelectionException;
import io.peft4j.tuner.TunedModule;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the calls woven into DJL's forward run: finds the tuned-module record of a block (one map lookup, {@code null}
 * for blocks without adapters) and lets it rewrite the input and output. An adapter's error follows
 * {@link AdviceErrors}' policy: the forward fails with an {@link AdapterFailure} naming the module and adapter
 * (default), or is counted and the block's own result used ({@code onError=warn}). Finding a block's adapters never
 * throws; a thread's adapter selection this pass cannot run fails with {@link AdapterSelectionException}.
 */
public final class ForwardHooks {

    private static final LongAdder INTERCEPTED = new LongAdder();

    private ForwardHooks() {}

    /** The tuned module of {@code block}, or {@code null}. */
    public static Object lookup(Object block) {
        try {
            return AdapterRegistry.tuned(block);
        } catch (Throwable t) {
            AdviceErrors.record("looking up adapters of " + block.getClass().getName(), t);
            return null;
        }
    }

    /** Lets the adapters of {@code module} rewrite the block's input. */
    public static Object before(Object module, Object store, Object inputs, boolean training) {
        try {
            return ((TunedModule) module).beforeForward((ParameterStore) store, (NDList) inputs, training);
        } catch (AdapterSelectionException e) {
            throw e;
        } catch (Throwable t) {
            failed((TunedModule) module, "preparing the module's input", t);
            return inputs;
        }
    }

    /** Adds the adapters' deltas of {@code module} to the block's output. */
    public static Object after(Object module, Object store, Object inputs, boolean training, Object output) {
        INTERCEPTED.increment();
        try {
            return ((TunedModule) module).afterForward((ParameterStore) store, (NDList) inputs, training,
                    (NDList) output);
        } catch (AdapterSelectionException e) {
            throw e;
        } catch (Throwable t) {
            failed((TunedModule) module, "adding its output", t);
            return output;
        }
    }

    private static void failed(TunedModule module, String what, Throwable t) {
        AdviceErrors.hookFailed(module.path(), module.active().toString(), what, t);
    }

    /**
     * Woven at the start of a module's {@code forwardInternal}: the input the block computes with (the adapters of a
     * tuned block may rewrite it; any other block keeps it).
     */
    public static Object enterModule(Object block, Object store, Object inputs, boolean training) {
        Object module = lookup(block);
        return module == null ? inputs : before(module, store, inputs, training);
    }

    /** Woven before a module's {@code forwardInternal} returns: the output with the adapters' deltas. */
    public static Object exitModule(Object output, Object block, Object store, Object inputs, boolean training) {
        Object module = lookup(block);
        return module == null ? output : after(module, store, inputs, training, output);
    }

    /** How many forward passes of tuned modules were intercepted. */
    public static long interceptedForwards() {
        return INTERCEPTED.sum();
    }
}

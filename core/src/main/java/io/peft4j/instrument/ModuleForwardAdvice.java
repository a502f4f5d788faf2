package io.peft4j.instrument;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into {@code forwardInternal(ParameterStore, NDList, boolean, PairList)} of the block types adapters can
 * target: looks the block up once on entry and, for tuned blocks only, rewrites input and output.
 */
public final class ModuleForwardAdvice {

    private ModuleForwardAdvice() {}

    /** Before the base forward. */
    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static Object enter(
            @Advice.This Object self,
            @Advice.Argument(0) ParameterStore store,
            @Advice.Argument(value = 1, readOnly = false) NDList inputs,
            @Advice.Argument(2) boolean training) {
        Object module = ForwardHooks.lookup(self);
        if (module != null) {
            inputs = ForwardHooks.before(module, store, inputs, training);
        }
        return module;
    }

    /** After the base forward. */
    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(
            @Advice.Enter Object module,
            @Advice.Argument(0) ParameterStore store,
            @Advice.Argument(1) NDList inputs,
            @Advice.Argument(2) boolean training,
            @Advice.Return(readOnly = false) NDList result) {
        if (module != null) {
            result = ForwardHooks.after(module, store, inputs, training, result);
        }
    }
}

package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Inlined into {@code forwardInternal(ParameterStore, NDList, boolean, PairList)} of the block types adapters can
 * target: looks the block up once on entry and, for tuned blocks only, rewrites input and output.
 *
 * <p>Advice signatures use {@code Object}: naming DJL types here would make the JVM load them while the very class
 * being instrumented is defined.
 */
public final class ModuleForwardAdvice {

    private ModuleForwardAdvice() {}

    /** Before the base forward. */
    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static Object enter(
            @Advice.This Object self,
            @Advice.Argument(0) Object store,
            @Advice.Argument(value = 1, readOnly = false, typing = Assigner.Typing.DYNAMIC) Object inputs,
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
            @Advice.Argument(0) Object store,
            @Advice.Argument(1) Object inputs,
            @Advice.Argument(2) boolean training,
            @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object result) {
        if (module != null) {
            result = ForwardHooks.after(module, store, inputs, training, result);
        }
    }
}

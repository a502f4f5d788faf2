package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;

/**
 * Inlined into both {@code AbstractBaseBlock.forward} overloads: finds the outermost block of a forward pass (the
 * model's root) so that adapters can be injected before it first runs, and holds the model's adapters steady for the
 * whole pass (a concurrent switch waits, so no pass sees a mix of old and new adapters).
 */
public final class BlockForwardAdvice {

    private BlockForwardAdvice() {}

    /** Before the forward. Only {@link InjectionFailure} propagates. */
    @Advice.OnMethodEnter
    public static Object enter(@Advice.This Object self) {
        return ModelHooks.enterForward(self);
    }

    /** After the forward, normal or exceptional. */
    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.Enter Object token) {
        ModelHooks.exitForward(token);
    }
}

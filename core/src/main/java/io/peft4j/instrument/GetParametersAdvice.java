package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;

/** Inlined into {@code AbstractBaseBlock.getParameters()}: adds the adapter parameters of tuned blocks. */
public final class GetParametersAdvice {

    private GetParametersAdvice() {}

    /** After DJL listed the block's own and its children's parameters. */
    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(@Advice.This Object self, @Advice.Return Object list) {
        ParameterHooks.appendAttached(self, list);
    }
}

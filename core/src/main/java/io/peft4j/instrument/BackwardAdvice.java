package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Inlined into {@code GradientCollector.backward(NDArray)} implementations: lets AdaLoRA add its orthogonal
 * regularisation to the loss of a model in training.
 */
public final class BackwardAdvice {

    private BackwardAdvice() {}

    /** Before the backward pass. */
    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(
            @Advice.Argument(value = 0, readOnly = false, typing = Assigner.Typing.DYNAMIC) Object target) {
        target = TrainingHooks.beforeBackward(target);
    }
}

package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;

/** Advice for the constructor of {@code ai.djl.inference.Predictor}. */
public final class PredictorAdvice {

    private PredictorAdvice() {}

    /** After {@code new Predictor(model, translator, device, copy)}. */
    @Advice.OnMethodExit
    public static void exit(@Advice.Argument(0) Object model) {
        ModelHooks.modelInUse(model, "predictor");
    }
}

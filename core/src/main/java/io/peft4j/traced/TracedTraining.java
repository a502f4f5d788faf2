package io.peft4j.traced;

/** LoRA training on traced models (filled in with priority 4). */
public final class TracedTraining {

    private TracedTraining() {}

    /** See {@link io.peft4j.instrument.TrainingHooks#afterBackward}. */
    public static void afterBackward(Object collector) {
        // nothing trains yet
    }
}

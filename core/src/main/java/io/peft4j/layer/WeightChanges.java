package io.peft4j.layer;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * When values derived from adapter weights (such as LoRA's pre-scaled B, see {@code LoraLinear}) may be cached for
 * inference, and when such a cache is stale. Process-wide and conservative: an epoch that every peft4j write to a
 * weight, every new adapter parameter and every optimizer step advances; and a training window, opened by any
 * {@code GradientCollector} (woven: its constructor and {@code close()}) and closed only by a {@code Trainer.step()},
 * during which nothing may be cached (gradients must reach the live weights, and an optimizer may change them).
 * Gradients computed without a Trainer's step keep the window open: such a JVM simply computes uncached.
 */
public final class WeightChanges {

    private static final AtomicLong EPOCH = new AtomicLong();
    private static final AtomicInteger OPEN_COLLECTORS = new AtomicInteger();
    private static volatile boolean awaitingStep;

    private WeightChanges() {}

    /** The current epoch: a cached derived value is valid while the epoch it was made in is current. */
    public static long epoch() {
        return EPOCH.get();
    }

    /** Weights changed (or may have): every cached derived value is stale. */
    public static void changed() {
        EPOCH.incrementAndGet();
    }

    /** Whether derived values may be cached and used now: no gradient collector open, no optimizer step pending. */
    public static boolean cacheable() {
        return !awaitingStep && OPEN_COLLECTORS.get() == 0;
    }

    /** A {@code GradientCollector} was created: gradients may be recorded and an optimizer step may follow. */
    public static void collectorOpened() {
        awaitingStep = true;
        OPEN_COLLECTORS.incrementAndGet();
        changed();
    }

    /** Whether a {@code GradientCollector} is open anywhere in the JVM (autograd may be recording). */
    public static boolean collectorOpen() {
        return OPEN_COLLECTORS.get() > 0;
    }

    /** A {@code GradientCollector} is closing (the window stays open until the optimizer step). */
    public static void collectorClosed() {
        OPEN_COLLECTORS.updateAndGet(n -> Math.max(0, n - 1));
    }

    /** An optimizer step is about to change the trainable weights. */
    public static void beforeOptimizerStep() {
        changed();
    }

    /** An optimizer step changed the trainable weights: caches may be rebuilt from the new values. */
    public static void optimizerStepped() {
        changed();
        awaitingStep = false;
    }
}

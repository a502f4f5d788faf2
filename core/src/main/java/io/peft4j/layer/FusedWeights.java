package io.peft4j.layer;

import ai.djl.ndarray.NDArray;

/**
 * Where an inference forward of a small adapted layer gets its weight with the adapter folded in ({@code W + delta},
 * cached by the adapter, see {@link ModuleAdapter#fusedWeight}): the tuned module offers it before the base forward,
 * the woven {@code ParameterStore.getValue} hands it out instead of the base weight's own array (only that array, on
 * that thread), and the tuned module then adds nothing after the forward. The base weight itself is never changed.
 * Per thread; cleared at the end of every outermost forward pass, also one that threw.
 */
public final class FusedWeights {

    /**
     * What an adapter offers for one forward: {@code fused} ({@code base} with the adapter folded in) replaces the
     * base weight's array {@code base} in this thread's next fetch of it.
     *
     * @param base the base weight's own array
     * @param fused the weight to compute with instead
     */
    public record Offer(NDArray base, NDArray fused) {}

    private static final class Slot {
        NDArray base;
        NDArray fused;
        boolean used;

        void set(NDArray newBase, NDArray newFused, boolean handedOut) {
            base = newBase;
            fused = newFused;
            used = handedOut;
        }
    }

    private static final ThreadLocal<Slot> SLOT = ThreadLocal.withInitial(Slot::new);
    /** Whether any fused weight was ever offered in this JVM (until then the fetch hook costs one volatile read). */
    private static volatile boolean inUse;

    private FusedWeights() {}

    /** Whether any fused weight was offered in this JVM so far. */
    public static boolean inUse() {
        return inUse;
    }

    /** The next fetch of {@code offer.base()} on this thread returns {@code offer.fused()} instead. */
    public static void offer(Offer offer) {
        if (!inUse) {
            inUse = true;
        }
        SLOT.get().set(offer.base(), offer.fused(), false);
    }

    /** The value a fetch of {@code value} returns: the fused weight offered for that array (once), or {@code value}. */
    public static Object exchange(Object value) {
        Slot slot = SLOT.get();
        if (slot.base == null || slot.base != value) {
            return value;
        }
        NDArray fused = slot.fused;
        slot.set(null, null, true);
        return fused;
    }

    /**
     * Ends the offer on this thread: whether the fused weight was handed out since {@link #offer} (then the forward
     * already computed the adapted result).
     */
    public static boolean finish() {
        Slot slot = SLOT.get();
        boolean used = slot.used;
        slot.set(null, null, false);
        return used;
    }

    /** Drops an offer left by a forward that threw (called at the end of every outermost pass). */
    public static void clear() {
        if (inUse) {
            finish();
        }
    }
}

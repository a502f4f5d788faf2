package io.peft4j.layer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/**
 * In-place changes to base weights (merge, unmerge, loading values): the array object stays the block's own, so
 * everything that holds it (the block, a Trainer's parameter store) sees the new values. Temporaries live in an
 * {@link NDScope} and are freed before returning.
 */
public final class WeightUpdate {

    private WeightUpdate() {}

    /**
     * Adds the delta computed by {@code delta} to {@code weight} in place. With {@code safe}, refuses (and leaves the
     * weight unchanged) when the result would hold NaN or Inf.
     */
    public static void add(NDArray weight, Supplier<NDArray> delta, boolean safe, String what) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray d = delta.get().toType(weight.getDataType(), false);
            if (safe) {
                NDArray sum = weight.add(d);
                requireFinite(sum, what);
            }
            withoutGradient(weight, () -> weight.addi(d));
        }
    }

    /**
     * Refuses (changing nothing) when {@code weight + delta} would hold NaN or Inf: the check of a safe merge, for a
     * caller that changes several arrays and must check them all first.
     */
    public static void checkFinite(NDArray weight, Supplier<NDArray> delta, String what) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray sum = weight.add(delta.get().toType(weight.getDataType(), false));
            requireFinite(sum, what);
        }
    }

    /**
     * Multiplies {@code weight} in place by the (broadcast) factor computed by {@code factor}. With {@code safe},
     * refuses (and leaves the weight unchanged) when the result would hold NaN or Inf.
     */
    public static void multiply(NDArray weight, Supplier<NDArray> factor, boolean safe, String what) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray f = factor.get().toType(weight.getDataType(), false);
            if (safe) {
                NDArray product = weight.mul(f);
                requireFinite(product, what);
            }
            withoutGradient(weight, () -> weight.muli(f));
        }
    }

    /**
     * {@code weight = factor(delta) * (weight + delta)} in place, with {@code factor} computed from the delta before
     * the weight changes (DoRA's merge). The factor array is kept (unregistered from the scope) for the caller.
     */
    public static void multiplyAfterAdd(NDArray weight, Supplier<NDArray> delta,
            java.util.function.Function<NDArray, NDArray> factor, boolean safe, String what) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray d = delta.get().toType(weight.getDataType(), false);
            NDArray f = factor.apply(d);
            if (safe) {
                NDArray result = weight.add(d).mul(f);
                requireFinite(result, what);
            }
            withoutGradient(weight, () -> weight.addi(d).muli(f));
        }
    }

    /** Whether every element of {@code array} is finite (no NaN, no infinity). */
    public static boolean finite(NDArray array) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return array.isInfinite().logicalOr(array.isNaN()).none().getBoolean();
        }
    }

    /** The refusal of a safe merge whose result {@code merged} holds NaN or Inf. */
    private static void requireFinite(NDArray merged, String what) {
        if (!finite(merged)) {
            throw new IllegalStateException(
                    "merging " + what + " would produce NaN or Inf in the base weights; nothing was merged");
        }
    }

    /** Divides {@code weight} in place by the (broadcast) divisor computed by {@code divisor}. */
    public static void divide(NDArray weight, Supplier<NDArray> divisor) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray d = divisor.get().toType(weight.getDataType(), false);
            withoutGradient(weight, () -> weight.divi(d));
        }
    }

    /** Subtracts the delta computed by {@code delta} from {@code weight} in place. */
    public static void subtract(NDArray weight, Supplier<NDArray> delta) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray d = delta.get().toType(weight.getDataType(), false);
            withoutGradient(weight, () -> weight.subi(d));
        }
    }

    /** Overwrites {@code target}'s values with {@code source}'s (same shape; converted to the target's type). */
    public static void copyInto(NDArray target, NDArray source) {
        if (!target.getShape().equals(source.getShape())) {
            throw new IllegalArgumentException(
                    "shape " + source.getShape() + " does not fit " + target.getShape());
        }
        ByteBuffer copy;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            ByteBuffer bytes = source.toType(target.getDataType(), false).toByteBuffer();
            copy = ByteBuffer.allocateDirect(bytes.remaining()).order(ByteOrder.nativeOrder());
            copy.put(bytes).flip();
        }
        withoutGradient(target, () -> target.set(copy));
    }

    private static void withoutGradient(NDArray array, Runnable change) {
        boolean grad = array.hasGradient();
        if (grad) {
            array.setRequiresGradient(false);
        }
        try {
            change.run();
        } finally {
            WeightChanges.changed();
            if (grad) {
                array.setRequiresGradient(true);
            }
        }
    }
}

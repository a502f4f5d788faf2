package io.peft4j.traced;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import io.peft4j.layer.WeightUpdate;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * In-place changes to a traced model's parameters, each with its way back. The arrays stay the module's own (libtorch
 * runs with them), no gradient is recorded, temporaries are freed. An additive change is undone by subtracting the
 * recomputed delta (no memory held; exact up to float rounding, about one ulp of the weight); any other change keeps
 * an exact copy of what it overwrote, which its undo restores.
 */
public final class WeightEdits {

    private WeightEdits() {}

    /** The way back from one change. */
    public interface Undo {
        /** The parameter changed. */
        Parameter target();

        /** Restores what the change overwrote. */
        void undo();

        /** Bytes held to make the undo exact (a copy of the parameter), 0 for an additive change. */
        long bytesHeld();
    }

    /**
     * {@code target += delta} in place; undone by subtracting {@code delta} recomputed.
     *
     * @throws IllegalStateException (and changes nothing) when the result would hold NaN or Inf
     */
    public static Undo add(Parameter target, Supplier<NDArray> delta, String what) {
        WeightUpdate.add(target.getArray(), delta, true, what);
        return new Edit(target, () -> WeightUpdate.subtract(target.getArray(), delta), 0);
    }

    /** An undo: what to run, and the bytes its copy holds. */
    private record Edit(Parameter target, Runnable restore, long bytesHeld) implements Undo {
        @Override
        public void undo() {
            restore.run();
        }
    }

    /**
     * {@code target = newValue(target)} in place, keeping an exact copy of the old values for the undo (DoRA's
     * re-normalisation, IA3's scaling, replaced {@code modules_to_save} and biases).
     *
     * @throws IllegalStateException (and changes nothing) when the new value holds NaN or Inf
     */
    public static Undo replace(Parameter target, Function<NDArray, NDArray> newValue, String what) {
        NDArray live = target.getArray();
        NDArray saved;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray value = newValue.apply(live);
            if (!WeightUpdate.finite(value)) {
                throw new IllegalStateException("merging " + what + " would produce NaN or Inf in the base weights;"
                        + " nothing was merged");
            }
            saved = copyOf(live);
            assign(live, value);
        }
        return new Edit(target, () -> {
            assign(target.getArray(), saved);
            saved.close();
        }, saved.getShape().size() * saved.getDataType().getNumOfBytes());
    }

    /** An exact copy of {@code array}, detached from any autograd graph, owned by the caller. */
    public static NDArray copyOf(NDArray array) {
        NDArray copy;
        try (NDArray detached = array.stopGradient()) {
            copy = detached.duplicate();
        }
        NDScope.unregister(copy);
        return copy;
    }

    /** Overwrites {@code target}'s values with {@code value}'s (same shape) in place, without gradient recording. */
    public static void assign(NDArray target, NDArray value) {
        if (!target.getShape().equals(value.getShape())) {
            throw new IllegalArgumentException("shape " + TracedShapes.str(value.getShape()) + " does not fit "
                    + TracedShapes.str(target.getShape()));
        }
        boolean grad = target.hasGradient();
        if (grad) {
            target.setRequiresGradient(false);
        }
        try {
            NDArray v = value.getDataType() == target.getDataType() ? value : value.toType(target.getDataType(), false);
            if (target.getShape().dimension() == 0) {
                WeightUpdate.copyInto(target, v);
            } else {
                target.set(new NDIndex(":"), v);
            }
        } finally {
            if (grad) {
                target.setRequiresGradient(true);
            }
        }
    }

}

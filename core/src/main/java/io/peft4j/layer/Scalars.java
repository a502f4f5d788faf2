package io.peft4j.layer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a Java number that stays right when gradients flow through it. DJL's {@code NDArray.mul(Number)}
 * (likewise {@code div}, {@code muli}, ...) wraps the number in a 0-dim tensor over a Java direct buffer, which
 * libtorch uses without copying ({@code from_blob}), and drops that buffer when the call returns. Autograd keeps the
 * tensor for the backward pass (the gradient of {@code x * s} is {@code s}): a garbage collection between forward and
 * backward frees memory the backward then reads. The factors' gradients came out as 1e22-1e34, Adam's second moment
 * overflowed, and the module's adapter stopped training without an error (found as an intermittent CI failure of
 * traced-model training). The scalars made here are libtorch's own memory ({@code torch::full}), which the graph
 * keeps alive; closing the Java handle afterwards only drops a reference.
 *
 * <p>Use these wherever the other operand may carry gradients; a source test keeps core free of
 * {@code mul((float) ...)}-style calls.
 */
public final class Scalars {

    private Scalars() {}

    /** {@code x * factor}. */
    public static NDArray mul(NDArray x, double factor) {
        try (NDArray s = scalar(x, factor)) {
            return x.mul(s);
        }
    }

    /** {@code x *= factor}, in place; returns {@code x}. */
    public static NDArray muli(NDArray x, double factor) {
        try (NDArray s = scalar(x, factor)) {
            return x.muli(s);
        }
    }

    /** {@code x / divisor}. */
    public static NDArray div(NDArray x, double divisor) {
        try (NDArray s = scalar(x, divisor)) {
            return x.div(s);
        }
    }

    /** A 0-dim tensor of {@code value} in libtorch's memory, of {@code like}'s type, on its device. */
    private static NDArray scalar(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType()).toDevice(like.getDevice(), false);
    }
}

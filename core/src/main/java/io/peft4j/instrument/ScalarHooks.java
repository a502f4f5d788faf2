package io.peft4j.instrument;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.peft4j.layer.WeightChanges;

import java.nio.Buffer;

/**
 * Woven before the return of PyTorch's {@code PtNDManager.create(Buffer, Shape, DataType)}: while a
 * {@code GradientCollector} is open, a 0-dim array made from a Java number gets libtorch's own memory. DJL copies the
 * number into a direct buffer and hands that buffer to libtorch without a copy ({@code from_blob}); its
 * {@code mul(Number)}, {@code div(Number)}, ... ({@code L2Loss} among them) close the array as soon as the operation
 * returns, autograd keeps the tensor for backward, and a garbage collection in between frees the memory the backward
 * then reads: that step's gradients come out scaled by garbage, with no error (see {@link io.peft4j.layer.Scalars},
 * which peft4j's own layers use). Here the array is cloned into libtorch's memory and the borrowed one closed; outside
 * a collector, and for arrays that are not 0-dim or that wrap the caller's own direct buffer, nothing changes.
 */
public final class ScalarHooks {

    private ScalarHooks() {}

    /**
     * The array {@code create} returns, or a clone in libtorch's memory (see the class comment).
     *
     * @param created what {@code create} made
     * @param data the buffer it was given
     * @param shape the shape it was given
     */
    public static Object owned(Object created, Object data, Object shape) {
        if (!WeightChanges.collectorOpen()) {
            return created;
        }
        try {
            if (!(created instanceof NDArray) || ((Shape) shape).dimension() != 0 || ((Buffer) data).isDirect()) {
                return created;
            }
            NDArray borrowed = (NDArray) created;
            NDArray owned = borrowed.duplicate();
            borrowed.close();
            return owned;
        } catch (Throwable t) {
            AdviceErrors.record("giving a scalar libtorch's memory", t);
            return created;
        }
    }
}

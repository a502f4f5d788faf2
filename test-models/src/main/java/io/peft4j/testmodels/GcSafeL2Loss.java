package io.peft4j.testmodels;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.L2Loss;

/**
 * DJL's {@link L2Loss} ({@code mean(0.5 * (label - prediction)^2)}, the same numbers bit for bit) with its factor
 * 0.5 as a tensor in libtorch's memory. DJL's {@code mul(Number)} puts the number in a tensor over a Java direct
 * buffer libtorch does not copy and drops that buffer when the call returns, while autograd keeps the tensor for
 * backward: a garbage collection between the loss and {@code backward} then scales every gradient of that step by
 * whatever the freed memory holds. The tests that compare two training runs to 1e-5 cannot afford that once in
 * thousands of steps, so they train with this loss.
 */
public final class GcSafeL2Loss extends L2Loss {

    @Override
    public NDArray evaluate(NDList label, NDList prediction) {
        NDArray pred = prediction.singletonOrThrow();
        NDArray diff = label.singletonOrThrow().reshape(pred.getShape()).sub(pred).square();
        try (NDArray half = diff.getManager().full(new Shape(), 0.5f, diff.getDataType())) {
            return diff.mul(half).mean();
        }
    }
}

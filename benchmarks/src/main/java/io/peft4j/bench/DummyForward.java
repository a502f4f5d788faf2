package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.peft4j.testmodels.DummyModel;

/**
 * W3 of the side-by-side comparison: inference forward pass of the DJL twin of PEFT's test {@code DummyModel}
 * ({@code Embedding(10,10) -> Linear(10,10) -> Linear(10,10)}, the golden case {@code a_lora_dummy}) on int64 ids
 * {@code [1, 8]}. Tiny: every op is dispatch-bound, so this measures per-op and per-hook costs.
 */
public abstract class DummyForward extends ModelForward {

    /** The golden case's input shape. */
    static final Shape IDS = new Shape(1, 8);

    @Override
    protected Block build(NDManager manager) {
        Block model = new DummyModel();
        model.initialize(manager, DataType.FLOAT32, IDS);
        return model;
    }

    @Override
    protected NDArray input(NDManager manager) {
        return manager.randomInteger(0, 10, IDS, DataType.INT64);
    }
}

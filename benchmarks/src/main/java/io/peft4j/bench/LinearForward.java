package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Param;

/** Inference forward pass of one {@code Linear(width, width)} on a {@code [64, width]} input. */
public abstract class LinearForward extends ModelForward {

    /** in = out features. */
    @Param({"256", "1024", "4096"})
    public int width;

    @Override
    protected Block build(NDManager manager) {
        Block model = Models.linear(width);
        Models.initialize(model, manager, width);
        return model;
    }

    @Override
    protected NDArray input(NDManager manager) {
        return Models.input(manager, width);
    }
}

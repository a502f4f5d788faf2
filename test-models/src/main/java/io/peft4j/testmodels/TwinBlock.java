package io.peft4j.testmodels;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;

/**
 * Base of the DJL twins of the small PyTorch golden models: a container whose children run one after the other
 * (each twin's {@code forwardInternal} spells out the torch {@code forward}). It chains initialization and output
 * shapes through the children in registration order and knows the sample input the golden cases feed it.
 */
public abstract class TwinBlock extends AbstractBlock {

    /** Creates an empty twin; subclasses register their children with the torch attribute names. */
    protected TwinBlock() {}

    /**
     * Returns the shape of the golden cases' input (any leading batch size works after initialization).
     *
     * @return the sample input shape
     */
    public abstract Shape sampleInputShape();

    /**
     * Returns the data type of the input this twin takes (int64 ids for embeddings, float32 otherwise).
     *
     * @return the input data type
     */
    public abstract DataType inputDataType();

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block child : children.values()) {
            child.initialize(manager, dataType, shapes);
            shapes = child.getOutputShapes(shapes);
        }
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block child : children.values()) {
            shapes = child.getOutputShapes(shapes);
        }
        return shapes;
    }
}

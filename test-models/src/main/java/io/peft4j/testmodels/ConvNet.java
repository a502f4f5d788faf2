package io.peft4j.testmodels;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * DJL twin of the golden {@code ConvNet}: {@code conv1=Conv2d(3,8,k=3,pad=1) -> relu1 ->
 * conv2=Conv2d(8,4,k=3,stride=2,pad=1) -> relu2 -> flatten -> head=Linear(64,5)}; input float {@code [2, 3, 8, 8]}.
 */
public final class ConvNet extends TwinBlock {

    private final Conv2d conv1;
    private final Block relu1;
    private final Conv2d conv2;
    private final Block relu2;
    private final Block flatten;
    private final Linear head;

    private final Shape sampleInput;

    /** Creates the twin with uninitialized parameters. */
    public ConvNet() {
        this(8, 4, 5, new Shape(2, 3, 8, 8));
    }

    /**
     * Creates the twin with other channel counts (kernels 3x3, conv1 padding 1, conv2 stride 2 padding 1).
     *
     * @param filters1 conv1's output channels
     * @param filters2 conv2's output channels
     * @param headOut the width of head
     * @param sampleInput the input shape used to initialise (NCHW)
     */
    public ConvNet(int filters1, int filters2, int headOut, Shape sampleInput) {
        conv1 = addChildBlock("conv1", Conv2d.builder()
                .setKernelShape(new Shape(3, 3)).setFilters(filters1).optPadding(new Shape(1, 1)).build());
        relu1 = addChildBlock("relu1", Activation.reluBlock());
        conv2 = addChildBlock("conv2", Conv2d.builder()
                .setKernelShape(new Shape(3, 3)).setFilters(filters2)
                .optStride(new Shape(2, 2)).optPadding(new Shape(1, 1)).build());
        relu2 = addChildBlock("relu2", Activation.reluBlock());
        flatten = addChildBlock("flatten", Blocks.batchFlattenBlock());
        head = addChildBlock("head", Linear.builder().setUnits(headOut).build());
        this.sampleInput = sampleInput;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = conv1.forward(ps, inputs, training, params);
        x = relu1.forward(ps, x, training, params);
        x = conv2.forward(ps, x, training, params);
        x = relu2.forward(ps, x, training, params);
        x = flatten.forward(ps, x, training, params);
        return head.forward(ps, x, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public Shape sampleInputShape() {
        return sampleInput;
    }

    /** {@inheritDoc} */
    @Override
    public DataType inputDataType() {
        return DataType.FLOAT32;
    }
}

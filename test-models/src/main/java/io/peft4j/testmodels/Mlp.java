package io.peft4j.testmodels;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * DJL twin of the golden {@code MLP}: {@code fc1=Linear(16,32) -> relu1 -> fc2=Linear(32,32) -> relu2 ->
 * head=Linear(32,4)}; input float {@code [3, 16]}. Other widths give a bigger MLP of the same shape.
 */
public final class Mlp extends TwinBlock {

    private final int inFeatures;
    private final Linear fc1;
    private final Block relu1;
    private final Linear fc2;
    private final Block relu2;
    private final Linear head;

    /** Creates the golden MLP (16 -> 32 -> 32 -> 4). */
    public Mlp() {
        this(16, 32, 4);
    }

    /**
     * Creates an MLP with the golden layout and the given widths.
     *
     * @param inFeatures the input width (only used for {@link #sampleInputShape()})
     * @param hidden the width of fc1 and fc2
     * @param outFeatures the width of head
     */
    public Mlp(int inFeatures, int hidden, int outFeatures) {
        this(inFeatures, hidden, hidden, outFeatures);
    }

    /**
     * Creates an MLP with the golden layout and a width per layer.
     *
     * @param inFeatures the input width (only used for {@link #sampleInputShape()})
     * @param hidden1 the width of fc1
     * @param hidden2 the width of fc2
     * @param outFeatures the width of head
     */
    public Mlp(int inFeatures, int hidden1, int hidden2, int outFeatures) {
        this(inFeatures, hidden1, hidden2, outFeatures, "fc2", "head");
    }

    private Mlp(int inFeatures, int hidden1, int hidden2, int outFeatures, String fc2Name, String headName) {
        this.inFeatures = inFeatures;
        fc1 = addChildBlock("fc1", Linear.builder().setUnits(hidden1).build());
        relu1 = addChildBlock("relu1", Activation.reluBlock());
        fc2 = addChildBlock(fc2Name, Linear.builder().setUnits(hidden2).build());
        relu2 = addChildBlock("relu2", Activation.reluBlock());
        head = addChildBlock(headName, Linear.builder().setUnits(outFeatures).build());
    }

    /**
     * DJL twin of the golden {@code ClsMLP}, a classifier laid out as DistilBERT's head: {@code fc1 -> relu1 ->
     * pre_classifier -> relu2 -> classifier}.
     *
     * @param inFeatures the input width (only used for {@link #sampleInputShape()})
     * @param hidden1 the width of fc1
     * @param hidden2 the width of pre_classifier
     * @param outFeatures the width of classifier
     * @return the classifier, uninitialized
     */
    public static Mlp classifier(int inFeatures, int hidden1, int hidden2, int outFeatures) {
        return new Mlp(inFeatures, hidden1, hidden2, outFeatures, "pre_classifier", "classifier");
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = fc1.forward(ps, inputs, training, params);
        x = relu1.forward(ps, x, training, params);
        x = fc2.forward(ps, x, training, params);
        x = relu2.forward(ps, x, training, params);
        return head.forward(ps, x, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public Shape sampleInputShape() {
        return new Shape(3, inFeatures);
    }

    /** {@inheritDoc} */
    @Override
    public DataType inputDataType() {
        return DataType.FLOAT32;
    }
}

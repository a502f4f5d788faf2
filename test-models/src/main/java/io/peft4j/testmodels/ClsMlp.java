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
 * DJL twin of the golden {@code ClsMLP}, a classifier laid out as DistilBERT's head: {@code fc1=Linear(16,32) ->
 * relu1 -> pre_classifier=Linear(32,32) -> relu2 -> classifier=Linear(32,4)}; input float {@code [3, 16]}.
 */
public final class ClsMlp extends TwinBlock {

    private final int inFeatures;
    private final Linear fc1;
    private final Block relu1;
    private final Linear preClassifier;
    private final Block relu2;
    private final Linear classifier;

    /**
     * Creates the classifier with the given widths.
     *
     * @param inFeatures the input width (only used for {@link #sampleInputShape()})
     * @param hidden1 the width of fc1
     * @param hidden2 the width of pre_classifier
     * @param outFeatures the width of classifier
     */
    public ClsMlp(int inFeatures, int hidden1, int hidden2, int outFeatures) {
        this.inFeatures = inFeatures;
        fc1 = addChildBlock("fc1", Linear.builder().setUnits(hidden1).build());
        relu1 = addChildBlock("relu1", Activation.reluBlock());
        preClassifier = addChildBlock("pre_classifier", Linear.builder().setUnits(hidden2).build());
        relu2 = addChildBlock("relu2", Activation.reluBlock());
        classifier = addChildBlock("classifier", Linear.builder().setUnits(outFeatures).build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = fc1.forward(ps, inputs, training, params);
        x = relu1.forward(ps, x, training, params);
        x = preClassifier.forward(ps, x, training, params);
        x = relu2.forward(ps, x, training, params);
        return classifier.forward(ps, x, training, params);
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

package io.peft4j.testmodels;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.transformer.IdEmbedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * DJL twin of PEFT's test {@code DummyModel}: {@code embedding=Embedding(10,10) -> linear=Linear(10,10) ->
 * lm_head=Linear(10,10)}, forward {@code lm_head(linear(embedding(ids)))}; input int64 ids {@code [1, 8]}.
 */
public final class DummyModel extends TwinBlock {

    private final IdEmbedding embedding;
    private final Linear linear;
    private final Linear lmHead;

    private final Shape sampleInput;

    /** Creates the twin with uninitialized parameters. */
    public DummyModel() {
        this(10, 10, 10, 10, new Shape(1, 8));
    }

    /**
     * Creates the twin with other sizes.
     *
     * @param numEmbeddings the embedding's dictionary size
     * @param embeddingDim the embedding width
     * @param linearOut the width of {@code linear}
     * @param headOut the width of {@code lm_head}
     * @param sampleInput the id shape used to initialise
     */
    public DummyModel(int numEmbeddings, int embeddingDim, int linearOut, int headOut, Shape sampleInput) {
        embedding = addChildBlock("embedding",
                new IdEmbedding.Builder().setDictionarySize(numEmbeddings).setEmbeddingSize(embeddingDim).build());
        linear = addChildBlock("linear", Linear.builder().setUnits(linearOut).build());
        lmHead = addChildBlock("lm_head", Linear.builder().setUnits(headOut).build());
        this.sampleInput = sampleInput;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = embedding.forward(ps, inputs, training, params);
        x = linear.forward(ps, x, training, params);
        return lmHead.forward(ps, x, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public Shape sampleInputShape() {
        return sampleInput;
    }

    /** {@inheritDoc} */
    @Override
    public DataType inputDataType() {
        return DataType.INT64;
    }
}

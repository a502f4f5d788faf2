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

    /** Creates the twin with uninitialized parameters. */
    public DummyModel() {
        embedding = addChildBlock("embedding",
                new IdEmbedding.Builder().setDictionarySize(10).setEmbeddingSize(10).build());
        linear = addChildBlock("linear", Linear.builder().setUnits(10).build());
        lmHead = addChildBlock("lm_head", Linear.builder().setUnits(10).build());
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
        return new Shape(1, 8);
    }

    /** {@inheritDoc} */
    @Override
    public DataType inputDataType() {
        return DataType.INT64;
    }
}

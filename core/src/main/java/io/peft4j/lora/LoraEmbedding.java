package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.Scalars;

/**
 * LoRA on an embedding table ({@code IdEmbedding}, the {@code Embedding} family), as PEFT's {@code lora.Embedding}:
 * {@code lora_embedding_A: [r, num]}, {@code lora_embedding_B: [dim, r]},
 * {@code y = base(ids) + (A^T[ids] @ B^T) * scaling}, no dropout. Initialisation: A zeros and B standard normal
 * (PEFT's choice for embeddings); with {@code init_lora_weights=false} both standard normal. Not final because
 * {@link DoraEmbedding} is LoRA on an embedding with a magnitude on top.
 */
public class LoraEmbedding extends LowRankFactors {

    /** Creates the adapter for the embedding table {@code table} ({@code [num, dim]}, initialised). */
    public LoraEmbedding(String name, Parameter table, int r, double scaling, InitLoraWeights init) {
        super(name, table, r, scaling, "lora_embedding_A", "lora_embedding_B", "", initA(table, r, init),
                initB(table, r));
    }

    private static NDArray initA(Parameter table, int r, InitLoraWeights init) {
        NDArray weight = table.getArray();
        NDManager manager = weight.getManager();
        Shape shape = new Shape(r, weight.getShape().get(0));
        DataType dtype = weight.getDataType();
        return init.kind() == InitLoraWeights.Kind.FALSE ? manager.randomNormal(shape, dtype)
                : manager.zeros(shape, dtype);
    }

    private static NDArray initB(Parameter table, int r) {
        NDArray weight = table.getArray();
        return weight.getManager().randomNormal(new Shape(weight.getShape().get(1), r), weight.getDataType());
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        NDArray a = store.getValue(loraA(), output.getDevice(), training);
        NDArray b = store.getValue(loraB(), output.getDevice(), training);
        return output.addi(lowRankPath(input, a, b, output.getShape()));
    }

    /** {@code A^T[ids] @ B^T * scaling} in the shape of the base output. */
    protected final NDArray lowRankPath(NDArray input, NDArray a, NDArray b, Shape outputShape) {
        NDArray ids = input.getDataType() == DataType.INT64 ? input : input.toType(DataType.INT64, false);
        NDArray afterA = Embedding.embedding(ids, a.transpose(), SparseFormat.DENSE).head();
        return Scalars.muli(afterA.matMul(b.transpose()), scaling()).reshape(outputShape);
    }

    @Override
    public NDArray deltaMatrix() {
        return deltaWeight().transpose();
    }

    /** {@code (B @ A)^T * scaling}, shape {@code [num, dim]}. */
    @Override
    public NDArray deltaWeight() {
        return delta(loraA().getArray(), loraB().getArray());
    }

    /** {@code (b @ a)^T * scaling} for factors {@code a}, {@code b}. */
    protected final NDArray delta(NDArray a, NDArray b) {
        return Scalars.mul(b.matMul(a).transpose(), scaling());
    }
}

package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

/**
 * DoRA on an embedding table ({@code use_dora}), as PEFT's {@code DoraEmbeddingVariant}: LoRA's
 * {@code lora_embedding_A} and {@code lora_embedding_B} plus a magnitude {@code m} ({@code lora_magnitude_vector},
 * {@code [dim]}), the norm of each embedding dimension's column of {@code V = W + s (B A)^T} over the vocabulary. The
 * output is {@code (m/||V||) * base(ids) + (m/||V||) * (A^T[ids] @ B^T) * s} with the norm detached; no dropout, as
 * for LoRA on embeddings. Merging writes {@code (m/||V||) * V} into the table.
 */
public final class DoraEmbedding extends LoraEmbedding {

    private final DoraMagnitude magnitude;

    /** Creates the adapter for the embedding table {@code table} ({@code [num, dim]}, initialised). */
    public DoraEmbedding(String name, Parameter table, int r, double scaling, InitLoraWeights init) {
        super(name, table, r, scaling, init);
        this.magnitude = new DoraMagnitude(name, table, DoraMagnitude.Layout.COLUMNS, this::deltaWeight);
        addParameter(magnitude.parameter());
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = output.getDevice();
        NDArray a = store.getValue(loraA(), device, training);
        NDArray b = store.getValue(loraB(), device, training);
        NDArray scale = magnitude.scale(store, device, training, a, b, this::delta);
        NDArray lora = lowRankPath(input, a, b, output.getShape());
        return training ? output.add(lora).mul(scale) : output.addi(lora).muli(scale);
    }

    @Override
    public void merge(boolean safe) {
        magnitude.merge(this::deltaWeight, safe, "adapter '" + adapterName() + "'");
    }

    @Override
    public void unmerge() {
        magnitude.unmerge(this::deltaWeight);
    }

    @Override
    public String describe() {
        return super.describe() + ", DoRA";
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import io.peft4j.layer.ModuleAdapter;

/** A LoRA-style adapter with factors A and B whose product (times scaling) is the weight delta. */
public interface LowRankAdapter extends ModuleAdapter {

    /** Factor A ({@code lora_A} / {@code lora_embedding_A}). */
    Parameter loraA();

    /** Factor B ({@code lora_B} / {@code lora_embedding_B}). */
    Parameter loraB();

    /** The delta this adapter adds to the base weight, scaling included, in the base weight's layout. */
    NDArray deltaWeight();

    /**
     * The delta as the matrix PEFT decomposes in {@code add_weighted_adapter}'s SVD: {@code [out, in]} for Linear,
     * {@code [out, in*k...]} for convolutions, {@code [dim, num]} for embeddings.
     */
    default NDArray deltaMatrix() {
        NDArray delta = deltaWeight();
        return delta.reshape(delta.getShape().get(0), -1);
    }
}

package io.peft4j.layer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import java.util.Map;

/**
 * One named adapter (LoRA, IA3, ...) on one targeted module: its parameters and its contribution to the module's
 * forward pass.
 */
public interface ModuleAdapter {

    /** The adapter name, e.g. {@code default}. */
    String adapterName();

    /** The adapter type as PEFT names it, e.g. {@code LORA}. */
    String adapterType();

    /**
     * The adapter's parameters under the names PEFT gives them inside the module, adapter name included, e.g.
     * {@code lora_A.default.weight}; insertion order is PEFT's {@code state_dict()} order.
     */
    Map<String, Parameter> parameters();

    /** Rewrites the module's input before the base forward (IA3 on feed-forward modules); identity by default. */
    default NDList beforeForward(ParameterStore store, NDList inputs, boolean training) {
        return inputs;
    }

    /**
     * Adds the adapter's contribution to the base output {@code output} computed from {@code input}.
     *
     * @return the new output (may be {@code output} itself, updated in place)
     */
    NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training);

    /**
     * For an inference forward in which this adapter is the only one taking part: the base weight's array and, to be
     * used instead of it, that weight with the adapter's whole effect folded in (then {@link #afterForward} is not
     * called), or {@code null} when the adapter adds its delta in {@link #afterForward} (the default). Only where the
     * folded weight costs no more than the adapter's own products (see {@code LoraLinear}); it is cached, never a
     * parameter, and the base weight is never changed.
     */
    default FusedWeights.Offer fusedWeight(ParameterStore store, Device device) {
        return null;
    }

    /**
     * Whether {@link #beforeForward} and {@link #afterForward} are row-wise: row {@code i} (first axis) of their result
     * depends only on row {@code i} of the input and the base output, so that a mixed batch may run them on the rows
     * of this adapter only (gathered into a sub-batch, the result written back into those rows). True for LoRA on
     * Linear/Embedding/Conv, DoRA and IA3; an adapter that mixes rows returns {@code false} and is refused in mixed
     * batches.
     */
    default boolean rowWise() {
        return true;
    }

    /** Folds the adapter into the base weights; with {@code safe}, refuses (and changes nothing) on NaN/Inf. */
    void merge(boolean safe);

    /** Subtracts a merged adapter from the base weights again. */
    void unmerge();

    /** The rank (LoRA r), or 0 where it does not apply. */
    int rank();

    /** The scaling applied to the delta, or 1 where it does not apply. */
    double scaling();

    /** Rank, scaling and the like, for logs: {@code r=8, scaling=2.0}. */
    default String describe() {
        return "r=" + rank() + ", scaling=" + scaling();
    }

    /** Marks the adapter's parameters trainable or frozen. */
    default void setTrainable(boolean trainable) {
        for (Parameter p : parameters().values()) {
            p.freeze(!trainable);
        }
    }

    /** Number of scalar parameters. */
    default long parameterCount() {
        long n = 0;
        for (Parameter p : parameters().values()) {
            n += p.getArray().getShape().size();
        }
        return n;
    }

    /** Bytes the adapter's parameters take (elements times the size of their data type). */
    default long memoryBytes() {
        long n = 0;
        for (Parameter p : parameters().values()) {
            n += p.getArray().getShape().size() * p.getArray().getDataType().getNumOfBytes();
        }
        return n;
    }

    /** Releases the adapter's native arrays. */
    default void close() {
        for (Parameter p : parameters().values()) {
            p.close();
        }
    }
}

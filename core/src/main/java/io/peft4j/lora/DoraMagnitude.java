package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;

import java.util.Arrays;
import java.util.function.BinaryOperator;
import java.util.function.Supplier;

/**
 * DoRA's magnitude on one adapted layer: what PEFT's {@code DoraLinearLayer}, {@code DoraEmbeddingLayer} and
 * {@code _DoraConvNdLayer} share, used by {@link DoraLinear}, {@link DoraEmbedding} and {@link DoraConvolution}.
 *
 * <p>The magnitude {@code m} ({@code lora_magnitude_vector.<adapter>.weight}, saved without {@code .weight}) starts as
 * the norm of {@code V = W + delta} per output feature; the forward pass scales by {@code m / ||V||} with the norm
 * detached from the graph (DoRA paper, section 4.3); merging writes {@code (m / ||V||) * V} into the base weight and
 * keeps the norm, because unmerging cannot recompute it from the merged weight (PEFT caches it the same way).
 * The {@link Layout} says which axis is the output feature and the magnitude's shape.
 */
final class DoraMagnitude {

    /** The name of DoRA's magnitude in PEFT's modules: {@code lora_magnitude_vector.<adapter>.weight}. */
    static final String NAME = "lora_magnitude_vector";

    /** Where the output feature sits in the base weight, and the shape PEFT gives the magnitude. */
    enum Layout {
        /** Linear, weight {@code [out, in]}: norm of each row, magnitude {@code [out]}. */
        ROWS(0),
        /**
         * Embedding, table {@code [num, dim]}: norm of each column, over the vocabulary (PEFT's
         * {@code DoraEmbeddingLayer} transposes the table first), magnitude {@code [dim]}.
         */
        COLUMNS(1),
        /**
         * Convolution, weight {@code [out, in, k...]}: norm over everything but the output channel, magnitude
         * {@code [1, out, 1...]} ({@code norm(dim=(1,...), keepdim=True).transpose(1, 0)}), which broadcasts over the
         * {@code [N, out, ...]} output.
         */
        CHANNELS(0);

        private final int featureAxis;

        Layout(int featureAxis) {
            this.featureAxis = featureAxis;
        }
    }

    private final Parameter baseWeight;
    private final Parameter magnitude;
    private final int[] normAxes;
    private final Shape magnitudeShape;
    private final Shape factorShape;
    private NDArray mergedNorm;

    /**
     * Creates the magnitude of adapter {@code adapter}, initialised to {@code ||W + delta||}.
     *
     * @param delta the adapter's weight delta in the base weight's layout, scaling included
     */
    DoraMagnitude(String adapter, Parameter baseWeight, Layout layout, Supplier<NDArray> delta) {
        this.baseWeight = baseWeight;
        long[] dims = baseWeight.getArray().getShape().getShape();
        long features = dims[layout.featureAxis];
        normAxes = new int[dims.length - 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            if (i != layout.featureAxis) {
                normAxes[j++] = i;
            }
        }
        long[] factor = new long[dims.length];
        Arrays.fill(factor, 1);
        factor[layout.featureAxis] = features;
        factorShape = new Shape(factor);
        if (layout == Layout.CHANNELS) {
            long[] m = new long[dims.length];
            Arrays.fill(m, 1);
            m[1] = features;
            magnitudeShape = new Shape(m);
        } else {
            magnitudeShape = new Shape(features);
        }
        NDArray norm;
        try (NDScope scope = new NDScope()) {
            norm = norm(baseWeight.getArray(), delta.get());
            NDScope.unregister(norm);
        }
        magnitude = AdapterParameters.create(NAME + "." + adapter + ".weight", norm);
    }

    /** The magnitude parameter, {@code lora_magnitude_vector.<adapter>.weight}. */
    Parameter parameter() {
        return magnitude;
    }

    /** {@code ||weight + delta||} per output feature, in the magnitude's shape. */
    NDArray norm(NDArray weight, NDArray delta) {
        return weight.add(delta).square().sum(normAxes).sqrt().reshape(magnitudeShape);
    }

    /**
     * The forward pass's factor {@code m / ||W + delta(A, B)||} from the store's values on {@code device}, the norm
     * detached from the graph (computed from detached factors); in the magnitude's shape, which broadcasts over the
     * layer's output.
     */
    NDArray scale(ParameterStore store, Device device, boolean training, NDArray a, NDArray b,
            BinaryOperator<NDArray> delta) {
        NDArray m = store.getValue(magnitude, device, training);
        NDArray w = store.getValue(baseWeight, device, training);
        return m.div(norm(w, delta.apply(a.stopGradient(), b.stopGradient())).stopGradient());
    }

    /**
     * {@code output + (scale - 1) * baseResult + scale * lora * scaling}, the Linear and convolution variants' output
     * ({@code baseResult} is the base output without bias, {@code lora} the low-rank path unscaled); in place unless
     * training.
     */
    static NDArray addTo(NDArray output, NDArray scale, NDArray baseResult, NDArray lora, double scaling,
            boolean training) {
        NDArray dora = scale.sub(1f).mul(baseResult).add(Scalars.mul(scale.mul(lora), scaling));
        return training ? output.add(dora) : output.addi(dora);
    }

    /** {@code W = (m / ||W + delta||) * (W + delta)} in place; the norm is kept for {@link #unmerge}. */
    void merge(Supplier<NDArray> delta, boolean safe, String what) {
        NDArray weight = baseWeight.getArray();
        NDArray[] norm = new NDArray[1];
        WeightUpdate.multiplyAfterAdd(weight, delta, d -> {
            NDArray n = norm(weight, d);
            NDScope.unregister(n);
            norm[0] = n;
            return magnitude.getArray().div(n).reshape(factorShape);
        }, safe, what);
        if (mergedNorm != null) {
            mergedNorm.close();
        }
        mergedNorm = norm[0];
    }

    /** {@code W = W / (m / n) - delta} with the norm {@code n} kept at merge; nothing when not merged. */
    void unmerge(Supplier<NDArray> delta) {
        if (mergedNorm == null) {
            return;
        }
        NDArray norm = mergedNorm;
        WeightUpdate.divide(baseWeight.getArray(), () -> magnitude.getArray().div(norm).reshape(factorShape));
        WeightUpdate.subtract(baseWeight.getArray(), delta);
        norm.close();
        mergedNorm = null;
    }
}

package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.FusedWeights;

/**
 * DoRA on a Linear ({@code use_dora}), as PEFT's {@code DoraLinearVariant}: LoRA factors A, B plus a magnitude vector
 * {@code m} ({@code lora_magnitude_vector}, {@code [out]}, initialised to the row norms of {@code W + s B A}). The
 * output is {@code base(x) + (m/||W + s B A|| - 1) * (x W^T) + m/||W + s B A|| * B(A(x)) * s}, the norm detached from
 * the graph; with dropout while training, {@code x W^T} is recomputed from the dropped-out input, as in PEFT. The
 * magnitude, its norm and merging are {@link DoraMagnitude}'s, shared with the embedding and convolution variants.
 */
public final class DoraLinear extends LoraLinear {

    private final Parameter baseBias;
    private final DoraMagnitude magnitude;

    /** Creates the adapter for the Linear with weight {@code baseWeight} and (optional) {@code baseBias}. */
    public DoraLinear(String name, Parameter baseWeight, Parameter baseBias, int r, double scaling, double dropout,
            InitLoraWeights init) {
        super(name, baseWeight, r, scaling, dropout, init);
        this.baseBias = baseBias;
        this.magnitude = new DoraMagnitude(name, baseWeight, DoraMagnitude.Layout.ROWS, this::deltaWeight);
        addParameter(magnitude.parameter());
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(loraA(), device, training);
        NDArray b = store.getValue(loraB(), device, training);
        NDArray scale = magnitude.scale(store, device, training, a, b, this::delta);
        float dropout = dropout();
        boolean drop = training && dropout > 0f;
        NDArray x = drop ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray loraResult = Linear.linear(Linear.linear(x, a).head(), b).head();
        NDArray baseResult;
        if (drop) {
            baseResult = Linear.linear(x, store.getValue(baseWeight(), device, training)).head();
        } else {
            baseResult = baseBias == null ? output : output.sub(store.getValue(baseBias, device, training));
        }
        return DoraMagnitude.addTo(output, scale, baseResult, loraResult, scaling(), training);
    }

    /** DoRA's output is not a weight added to W: never fused. */
    @Override
    public FusedWeights.Offer fusedWeight(ParameterStore store, Device device) {
        return null;
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

package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.WeightUpdate;

/**
 * DoRA on a Linear ({@code use_dora}), as PEFT's {@code DoraLinearLayer}: LoRA factors A, B plus a magnitude vector
 * {@code m} ({@code lora_magnitude_vector}, {@code [out]}, initialised to the row norms of {@code W + s B A}). The
 * output is {@code base(x) + (m/||W + s B A|| - 1) * (x W^T) + m/||W + s B A|| * B(A(x)) * s}, the norm detached from
 * the graph; with dropout while training, {@code x W^T} is recomputed from the dropped-out input, as in PEFT.
 */
public final class DoraLinear extends LoraLinear {

    /** The name of DoRA's magnitude in PEFT's modules: {@code lora_magnitude_vector.<adapter>.weight}. */
    static final String MAGNITUDE = "lora_magnitude_vector";

    private final Parameter baseBias;
    private final Parameter magnitude;
    private NDArray mergedNorm;

    /** Creates the adapter for the Linear with weight {@code baseWeight} and (optional) {@code baseBias}. */
    public DoraLinear(String name, Parameter baseWeight, Parameter baseBias, int r, double scaling, double dropout,
            InitLoraWeights init) {
        super(name, baseWeight, r, scaling, dropout, init);
        this.baseBias = baseBias;
        NDArray norm;
        try (NDScope scope = new NDScope()) {
            norm = weightNorm(baseWeight.getArray(), deltaWeight());
            NDScope.unregister(norm);
        }
        this.magnitude = AdapterParameters.create(MAGNITUDE + "." + name + ".weight", norm);
        addParameter(magnitude);
    }

    /** Row norms of {@code weight + delta}: {@code ||W + s B A||_2} per output feature. */
    private static NDArray weightNorm(NDArray weight, NDArray delta) {
        return weight.add(delta).square().sum(new int[] {1}).sqrt();
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(loraA(), device, training);
        NDArray b = store.getValue(loraB(), device, training);
        NDArray m = store.getValue(magnitude, device, training);
        NDArray w = store.getValue(baseWeight(), device, training);
        float s = (float) scaling();
        NDArray norm = weightNorm(w, b.matMul(a).mul(s)).stopGradient();
        NDArray scale = m.div(norm);
        float dropout = dropout();
        boolean drop = training && dropout > 0f;
        NDArray x = drop ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray loraResult = Linear.linear(Linear.linear(x, a).head(), b).head();
        NDArray baseResult;
        if (drop) {
            baseResult = Linear.linear(x, w).head();
        } else {
            baseResult = baseBias == null ? output : output.sub(store.getValue(baseBias, device, training));
        }
        NDArray dora = scale.sub(1f).mul(baseResult).add(scale.mul(loraResult).mul(s));
        return training ? output.add(dora) : output.addi(dora);
    }

    @Override
    public void merge(boolean safe) {
        NDArray weight = baseWeight().getArray();
        NDArray[] norm = new NDArray[1];
        WeightUpdate.multiplyAfterAdd(weight, this::deltaWeight, delta -> {
            NDArray n = weightNorm(weight, delta);
            NDScope.unregister(n);
            norm[0] = n;
            return magnitude.getArray().div(n).reshape(-1, 1);
        }, safe, "adapter '" + adapterName() + "'");
        mergedNorm = norm[0];
    }

    @Override
    public void unmerge() {
        if (mergedNorm == null) {
            return;
        }
        NDArray norm = mergedNorm;
        WeightUpdate.divide(baseWeight().getArray(), () -> magnitude.getArray().div(norm).reshape(-1, 1));
        WeightUpdate.subtract(baseWeight().getArray(), this::deltaWeight);
        norm.close();
        mergedNorm = null;
    }

    @Override
    public String describe() {
        return super.describe() + ", DoRA";
    }
}

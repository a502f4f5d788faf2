package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.config.InitLoraWeights;
import io.peft4j.tuner.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DoRA on a Linear ({@code use_dora}), as PEFT's {@code DoraLinearLayer}: LoRA factors A, B plus a magnitude vector
 * {@code m} ({@code lora_magnitude_vector}, {@code [out]}, initialised to the row norms of {@code W + s B A}). The
 * output is {@code base(x) + (m/||W + s B A|| - 1) * (x W^T) + m/||W + s B A|| * B(A(x)) * s}, the norm detached from
 * the graph; with dropout while training, {@code x W^T} is recomputed from the dropped-out input, as in PEFT.
 */
public final class DoraLinear implements LowRankAdapter {

    private final LoraLinear lora;
    private final Parameter baseWeight;
    private final Parameter baseBias;
    private final Parameter magnitude;
    private final float dropout;
    private final Map<String, Parameter> parameters;
    private NDArray mergedNorm;

    /** Creates the adapter for the Linear with weight {@code baseWeight} and (optional) {@code baseBias}. */
    public DoraLinear(String name, Parameter baseWeight, Parameter baseBias, int r, double scaling, double dropout,
            InitLoraWeights init) {
        this.lora = new LoraLinear(name, baseWeight, r, scaling, dropout, init);
        this.baseWeight = baseWeight;
        this.baseBias = baseBias;
        this.dropout = (float) dropout;
        NDArray norm;
        try (NDScope scope = new NDScope()) {
            norm = weightNorm(baseWeight.getArray(), lora.deltaWeight());
            NDScope.unregister(norm);
        }
        this.magnitude = AdapterParameters.create("lora_magnitude_vector." + name + ".weight", norm);
        Map<String, Parameter> params = new LinkedHashMap<>(lora.parameters());
        params.put(magnitude.getName(), magnitude);
        this.parameters = Collections.unmodifiableMap(params);
    }

    /** Row norms of {@code weight + delta}: {@code ||W + s B A||_2} per output feature. */
    private static NDArray weightNorm(NDArray weight, NDArray delta) {
        return weight.add(delta).square().sum(new int[] {1}).sqrt();
    }

    @Override
    public String adapterName() {
        return lora.adapterName();
    }

    @Override
    public String adapterType() {
        return "LORA";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    @Override
    public Parameter loraA() {
        return lora.loraA();
    }

    @Override
    public Parameter loraB() {
        return lora.loraB();
    }

    @Override
    public NDArray deltaWeight() {
        return lora.deltaWeight();
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(lora.loraA(), device, training);
        NDArray b = store.getValue(lora.loraB(), device, training);
        NDArray m = store.getValue(magnitude, device, training);
        NDArray w = store.getValue(baseWeight, device, training);
        float s = (float) lora.scaling();
        NDArray norm = weightNorm(w, b.matMul(a).mul(s)).stopGradient();
        NDArray scale = m.div(norm);
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
        NDArray weight = baseWeight.getArray();
        NDArray[] norm = new NDArray[1];
        WeightUpdate.multiplyAfterAdd(weight, lora::deltaWeight, delta -> {
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
        WeightUpdate.divide(baseWeight.getArray(), () -> magnitude.getArray().div(norm).reshape(-1, 1));
        WeightUpdate.subtract(baseWeight.getArray(), lora::deltaWeight);
        norm.close();
        mergedNorm = null;
    }

    @Override
    public int rank() {
        return lora.rank();
    }

    @Override
    public double scaling() {
        return lora.scaling();
    }

    @Override
    public String describe() {
        return "r=" + rank() + ", scaling=" + scaling() + ", DoRA";
    }
}

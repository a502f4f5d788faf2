package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.lora.AdapterParameters;
import io.peft4j.tuner.ModuleAdapter;
import io.peft4j.tuner.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdaLoRA on a Linear, as PEFT's {@code adalora.SVDLinear}: {@code lora_A: [r, in]}, {@code lora_E: [r, 1]} (the
 * singular values), {@code lora_B: [out, r]}, {@code ranknum} (= r, frozen);
 * {@code y = base(x) + dropout(x) @ (A * E)^T @ B^T * scaling / (ranknum + 1e-5)} with {@code scaling = lora_alpha}.
 * Initialisation: E zeros, A and B normal with std 0.02 (all standard normal with {@code init_lora_weights=false}).
 */
public final class SvdLinear implements ModuleAdapter {

    private final String name;
    private final int r;
    private final double scaling;
    private final float dropout;
    private final Parameter baseWeight;
    private final Parameter loraA;
    private final Parameter loraE;
    private final Parameter loraB;
    private final Parameter ranknum;
    private final Map<String, Parameter> parameters;

    /**
     * Creates the adapter next to the Linear weight {@code baseWeight} ({@code [out, in]}, initialised).
     *
     * @param r the number of ranks the tensors have
     * @param ranknum the rank the scaling divides by: {@code init_r}, also after a resize to fewer ranks (PEFT keeps
     *     it, "the scaling is exactly as the previous")
     */
    public SvdLinear(String name, Parameter baseWeight, int r, int ranknum, double loraAlpha, double dropout,
            boolean init) {
        this.name = name;
        this.r = r;
        this.scaling = loraAlpha;
        this.dropout = (float) dropout;
        this.baseWeight = baseWeight;
        NDArray weight = baseWeight.getArray();
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        NDManager manager = weight.getManager();
        DataType dtype = weight.getDataType();
        NDArray a;
        NDArray e;
        NDArray b;
        if (init) {
            a = manager.randomNormal(0f, 0.02f, new Shape(r, in), dtype);
            e = manager.zeros(new Shape(r, 1), dtype);
            b = manager.randomNormal(0f, 0.02f, new Shape(out, r), dtype);
        } else {
            a = manager.randomNormal(new Shape(r, in), dtype);
            e = manager.randomNormal(new Shape(r, 1), dtype);
            b = manager.randomNormal(new Shape(out, r), dtype);
        }
        loraA = AdapterParameters.create("lora_A." + name, a);
        loraB = AdapterParameters.create("lora_B." + name, b);
        loraE = AdapterParameters.create("lora_E." + name, e);
        NDArray rank = manager.full(new Shape(1), (float) ranknum, dtype);
        this.ranknum = AdapterParameters.create("ranknum." + name, rank);
        this.ranknum.freeze(true);
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put(loraA.getName(), loraA);
        params.put(loraB.getName(), loraB);
        params.put(loraE.getName(), loraE);
        params.put(this.ranknum.getName(), this.ranknum);
        this.parameters = Collections.unmodifiableMap(params);
    }

    @Override
    public String adapterName() {
        return name;
    }

    @Override
    public String adapterType() {
        return "ADALORA";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /** Factor A, {@code [r, in]}. */
    public Parameter loraA() {
        return loraA;
    }

    /** Singular values E, {@code [r, 1]}. */
    public Parameter loraE() {
        return loraE;
    }

    /** Factor B, {@code [out, r]}. */
    public Parameter loraB() {
        return loraB;
    }

    @Override
    public void setTrainable(boolean trainable) {
        if (ranknum.requiresGradient()) {
            ranknum.freeze(true);
        }
        for (Parameter p : new Parameter[] {loraA, loraB, loraE}) {
            if (p.requiresGradient() != trainable) {
                p.freeze(!trainable);
            }
        }
    }

    @Override
    public long parameterCount() {
        return loraA.getArray().size() + loraB.getArray().size() + loraE.getArray().size();
    }

    private float divisor() {
        return (float) (scaling / (ranknum.getArray().getFloat(0) + 1e-5));
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        if (r == 0) {
            return output;
        }
        NDArray a = store.getValue(loraA, input.getDevice(), training);
        NDArray e = store.getValue(loraE, input.getDevice(), training);
        NDArray b = store.getValue(loraB, input.getDevice(), training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray hidden = Linear.linear(x, a.mul(e)).head();
        NDArray delta = Linear.linear(hidden, b).head().muli(divisor());
        return output.addi(delta);
    }

    /** {@code B @ (A * E) * scaling / (ranknum + 1e-5)}, {@code [out, in]}. */
    NDArray deltaWeight() {
        if (r == 0) {
            return baseWeight.getArray().zerosLike();
        }
        return loraB.getArray().matMul(loraA.getArray().mul(loraE.getArray())).muli(divisor());
    }

    @Override
    public void merge(boolean safe) {
        WeightUpdate.add(baseWeight.getArray(), this::deltaWeight, safe, "adapter '" + name + "'");
    }

    @Override
    public void unmerge() {
        WeightUpdate.subtract(baseWeight.getArray(), this::deltaWeight);
    }

    @Override
    public int rank() {
        return r;
    }

    @Override
    public double scaling() {
        return scaling;
    }

    @Override
    public String describe() {
        return "r=" + r + ", scaling=lora_alpha/ranknum=" + scaling + "/" + (int) ranknum.getArray().getFloat(0);
    }
}

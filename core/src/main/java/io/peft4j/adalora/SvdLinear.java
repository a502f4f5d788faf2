package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.lora.LowRankFactors;

/**
 * AdaLoRA on a Linear, as PEFT's {@code adalora.SVDLinear}: {@code lora_A: [r, in]}, {@code lora_E: [r, 1]} (the
 * singular values), {@code lora_B: [out, r]}, {@code ranknum} (= r, frozen);
 * {@code y = base(x) + dropout(x) @ (A * E)^T @ B^T * scaling / (ranknum + 1e-5)} with {@code scaling = lora_alpha}
 * ({@code r} when {@code lora_alpha <= 0}).
 * Initialisation: E zeros, A and B normal with std 0.02 (all standard normal with {@code init_lora_weights=false}).
 * Rank, scaling, the factors and merging are LoRA's ({@link LowRankFactors}); the delta has E and the divisor in it.
 */
public final class SvdLinear extends LowRankFactors {

    private final float dropout;
    private final Parameter loraE;
    private final Parameter ranknum;

    /**
     * Creates the adapter next to the Linear weight {@code baseWeight} ({@code [out, in]}, initialised).
     *
     * @param r the number of ranks the tensors have
     * @param ranknum the rank the scaling divides by: {@code init_r}, also after a resize to fewer ranks (PEFT keeps
     *     it, "the scaling is exactly as the previous")
     * @param loraAlpha the scaling before the division: {@code lora_alpha}, or {@code r} when it is not positive
     */
    public SvdLinear(String name, Parameter baseWeight, int r, int ranknum, double loraAlpha, double dropout,
            boolean init) {
        this(name, baseWeight, r, ranknum, loraAlpha, dropout, initFactors(baseWeight.getArray(), r, init));
    }

    private SvdLinear(String name, Parameter baseWeight, int r, int ranknum, double loraAlpha, double dropout,
            NDArray[] aeb) {
        super(name, baseWeight, r, loraAlpha, "lora_A", "lora_B", "", aeb[0], aeb[2]);
        this.dropout = (float) dropout;
        NDArray weight = baseWeight.getArray();
        loraE = AdapterParameters.create("lora_E." + name, aeb[1]);
        NDArray rank = weight.getManager().full(new Shape(1), (float) ranknum, weight.getDataType());
        this.ranknum = AdapterParameters.create("ranknum." + name, rank);
        this.ranknum.freeze(true);
        addParameter(loraE);
        addParameter(this.ranknum);
    }

    /** A, E and B, drawn in PEFT's order. */
    private static NDArray[] initFactors(NDArray weight, int r, boolean init) {
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        NDManager manager = weight.getManager();
        DataType dtype = weight.getDataType();
        if (init) {
            return new NDArray[] {manager.randomNormal(0f, 0.02f, new Shape(r, in), dtype),
                manager.zeros(new Shape(r, 1), dtype), manager.randomNormal(0f, 0.02f, new Shape(out, r), dtype)};
        }
        NDArray a = manager.randomNormal(new Shape(r, in), dtype);
        NDArray e = manager.randomNormal(new Shape(r, 1), dtype);
        return new NDArray[] {a, e, manager.randomNormal(new Shape(out, r), dtype)};
    }

    @Override
    public String adapterType() {
        return "ADALORA";
    }

    /** Singular values E, {@code [r, 1]}. */
    public Parameter loraE() {
        return loraE;
    }

    @Override
    public void setTrainable(boolean trainable) {
        if (ranknum.requiresGradient()) {
            ranknum.freeze(true);
        }
        for (Parameter p : new Parameter[] {loraA(), loraB(), loraE}) {
            if (p.requiresGradient() != trainable) {
                p.freeze(!trainable);
            }
        }
    }

    @Override
    public long parameterCount() {
        return loraA().getArray().size() + loraB().getArray().size() + loraE.getArray().size();
    }

    private float divisor() {
        return (float) (scaling() / (ranknum.getArray().getFloat(0) + 1e-5));
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        if (rank() == 0) {
            return output;
        }
        NDArray a = store.getValue(loraA(), input.getDevice(), training);
        NDArray e = store.getValue(loraE, input.getDevice(), training);
        NDArray b = store.getValue(loraB(), input.getDevice(), training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray hidden = Linear.linear(x, a.mul(e)).head();
        NDArray delta = Linear.linear(hidden, b).head().muli(divisor());
        return output.addi(delta);
    }

    /** {@code B @ (A * E) * scaling / (ranknum + 1e-5)}, {@code [out, in]}. */
    @Override
    public NDArray deltaWeight() {
        if (rank() == 0) {
            return baseWeight().getArray().zerosLike();
        }
        return loraB().getArray().matMul(loraA().getArray().mul(loraE.getArray())).muli(divisor());
    }

    @Override
    public String describe() {
        return "r=" + rank() + ", scaling=lora_alpha/ranknum=" + scaling() + "/" + (int) ranknum.getArray().getFloat(0);
    }
}

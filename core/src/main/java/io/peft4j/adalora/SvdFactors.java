package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.Scalars;
import io.peft4j.lora.LowRankFactors;

/**
 * What AdaLoRA's layers share (PEFT's {@code AdaLoraLayer}): {@code lora_A: [r, in']} (right singular vectors),
 * {@code lora_E: [r, 1]} (singular values), {@code lora_B: [out, r]} (left singular vectors), {@code ranknum} (= r,
 * frozen), the scaling {@code lora_alpha}, and the delta {@code B @ (A * E) * scaling / (ranknum + 1e-5)}.
 * Initialisation: E zeros, A and B normal with std 0.02 (all standard normal with {@code init_lora_weights=false}).
 * Rank, scaling, the factors and merging are LoRA's ({@link LowRankFactors}); the subclasses give the forward pass and
 * the delta's layout: {@link SvdLinear} ({@code in' = in}), {@link SvdConv2d} ({@code in' = in * kh * kw}).
 */
public abstract class SvdFactors extends LowRankFactors {

    private final float dropout;
    private final Parameter loraE;
    private final Parameter ranknum;

    /**
     * Creates the factors next to {@code baseWeight} (initialised).
     *
     * @param in the width of A's rows: {@code in} for a Linear, {@code in * kh * kw} for a Conv2d
     * @param r the number of ranks the tensors have
     * @param ranknum the rank the scaling divides by: {@code init_r}, also after a resize to fewer ranks (PEFT keeps
     *     it, "the scaling is exactly as the previous")
     * @param init {@code init_lora_weights} is truthy
     */
    protected SvdFactors(String name, Parameter baseWeight, long in, int r, int ranknum, double loraAlpha,
            double dropout, boolean init) {
        this(name, baseWeight, r, ranknum, loraAlpha, dropout, initFactors(baseWeight.getArray(), in, r, init));
    }

    private SvdFactors(String name, Parameter baseWeight, int r, int ranknum, double loraAlpha, double dropout,
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
    private static NDArray[] initFactors(NDArray weight, long in, int r, boolean init) {
        long out = weight.getShape().get(0);
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

    @Override
    public final NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        if (rank() == 0) {
            return output;
        }
        NDArray a = store.getValue(loraA(), input.getDevice(), training);
        NDArray e = store.getValue(loraE, input.getDevice(), training);
        NDArray b = store.getValue(loraB(), input.getDevice(), training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        return output.addi(adapterOutput(x, a, e, b));
    }

    /** What the adapter adds to the base output for the (dropped-out) input {@code x}, given A, E and B's values. */
    protected abstract NDArray adapterOutput(NDArray x, NDArray a, NDArray e, NDArray b);

    /** {@code scaling / (ranknum + 1e-5)}. */
    protected final float divisor() {
        return (float) (scaling() / (ranknum.getArray().getFloat(0) + 1e-5));
    }

    /** {@code b @ (a * e) * scaling / (ranknum + 1e-5)}, {@code [out, in']}. */
    protected final NDArray delta(NDArray a, NDArray e, NDArray b) {
        return Scalars.muli(b.matMul(a.mul(e)), divisor());
    }

    /** The delta in the base weight's layout, {@code B @ (A * E) * scaling / (ranknum + 1e-5)}; zeros for 0 ranks. */
    @Override
    public NDArray deltaWeight() {
        NDArray weight = baseWeight().getArray();
        if (rank() == 0) {
            return weight.zerosLike();
        }
        return delta(loraA().getArray(), loraE.getArray(), loraB().getArray()).reshape(weight.getShape());
    }

    @Override
    public String describe() {
        return "r=" + rank() + ", scaling=lora_alpha/ranknum=" + scaling() + "/" + (int) ranknum.getArray().getFloat(0);
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What every LoRA adapter shares: its name, rank and scaling, the factors A and B as DJL parameters, and merging by
 * adding {@link #deltaWeight()} to the base weight. Subclasses give the forward pass and the delta's layout.
 */
public abstract class LowRankFactors implements LowRankAdapter {

    private final String name;
    private volatile int r;
    private volatile double scaling;
    private final Parameter baseWeight;
    private volatile Parameter loraA;
    private volatile Parameter loraB;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Parameter> parametersView = Collections.unmodifiableMap(parameters);
    private Parameter loraBBias;
    private Parameter baseBias;

    /**
     * Takes ownership of the initialised factors.
     *
     * @param prefixA the parameter name of A without the adapter name ({@code lora_A}, {@code lora_embedding_A})
     * @param suffix what follows the adapter name ({@code .weight} for modules, empty for bare parameters)
     */
    protected LowRankFactors(String name, Parameter baseWeight, int r, double scaling, String prefixA,
            String prefixB, String suffix, NDArray a, NDArray b) {
        this.name = name;
        this.r = r;
        this.scaling = scaling;
        this.baseWeight = baseWeight;
        this.loraA = AdapterParameters.create(prefixA + "." + name + suffix, a);
        this.loraB = AdapterParameters.create(prefixB + "." + name + suffix, b);
        addParameter(loraA);
        addParameter(loraB);
    }

    /** Adds a subclass's parameter (DoRA's magnitude, AdaLoRA's E) after A and B, in PEFT's order; in constructors. */
    protected final void addParameter(Parameter parameter) {
        parameters.put(parameter.getName(), parameter);
    }

    @Override
    public String adapterName() {
        return name;
    }

    @Override
    public String adapterType() {
        return "LORA";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parametersView;
    }

    @Override
    public Parameter loraA() {
        return loraA;
    }

    @Override
    public Parameter loraB() {
        return loraB;
    }

    /**
     * Gives {@code lora_B} a bias ({@code lora_bias}, PEFT's {@code lora_B = nn.Linear(r, out, bias=True)}): the
     * forward pass adds {@code bias * scaling}, merging adds it to the base bias. Call right after construction.
     *
     * @param bias the initial bias, {@code [out]} (owned from now on)
     * @param baseBias the base layer's bias, or {@code null} (then merging is refused, as in PEFT)
     */
    protected final void addLoraBBias(NDArray bias, Parameter baseBias) {
        this.loraBBias = AdapterParameters.create(loraB().getName().replaceAll("\\.weight$", "") + ".bias", bias);
        this.baseBias = baseBias;
        addParameter(loraBBias);
    }

    /** {@code lora_B}'s bias ({@code lora_bias}), or {@code null}. */
    public final Parameter loraBBias() {
        return loraBBias;
    }

    /** The base weight the delta is merged into. */
    protected Parameter baseWeight() {
        return baseWeight;
    }

    @Override
    public void merge(boolean safe) {
        if (loraBBias != null) {
            if (baseBias == null) {
                throw new IllegalStateException("Impossible to merge LoRA with `lora_bias=True` because the base layer "
                        + "has no bias. (adapter '" + name + "')");
            }
            if (safe) {
                WeightUpdate.checkFinite(baseBias.getArray(), this::biasDelta, "adapter '" + name + "'");
            }
        }
        WeightUpdate.add(baseWeight.getArray(), this::deltaWeight, safe, "adapter '" + name + "'");
        if (loraBBias != null) {
            WeightUpdate.add(baseBias.getArray(), this::biasDelta, false, "adapter '" + name + "'");
        }
    }

    @Override
    public void unmerge() {
        WeightUpdate.subtract(baseWeight.getArray(), this::deltaWeight);
        if (loraBBias != null && baseBias != null) {
            WeightUpdate.subtract(baseBias.getArray(), this::biasDelta);
        }
    }

    /** What {@code lora_bias} adds to the base bias when merged: {@code lora_B.bias * scaling}. */
    private NDArray biasDelta() {
        return Scalars.mul(loraBBias.getArray(), scaling);
    }

    @Override
    public int rank() {
        return r;
    }

    /**
     * Sets the scaling (PEFT's hot-swap {@code _update_scaling}). Call it only while no forward pass runs
     * ({@code ModelAdapters.exclusive}).
     */
    public final void setScaling(double newScaling) {
        this.scaling = newScaling;
        scalingChanged();
    }

    /** {@code value} with zeros appended along every axis shorter than {@code shape}; a new array. */
    static NDArray zeroPadded(NDArray value, long[] shape) {
        NDArray out = value.duplicate();
        for (int axis = 0; axis < shape.length; axis++) {
            long have = out.getShape().get(axis);
            if (have < shape[axis]) {
                long[] extra = out.getShape().getShape();
                extra[axis] = shape[axis] - have;
                NDArray zeros = out.getManager().zeros(new Shape(extra), out.getDataType());
                NDArray grown = NDArrays.concat(new NDList(out, zeros), axis);
                out.close();
                zeros.close();
                out = grown;
            }
        }
        return out;
    }

    /** Called after {@link #setScaling}: a subclass drops what it derived from the scaling. */
    protected void scalingChanged() {}

    /**
     * Grows the rank to {@code newRank} with zeros (PEFT's {@code prepare_model_for_compiled_hotswap} padding): the
     * new rows of A and columns of B are zero, so the delta is unchanged. The parameters are replaced by larger ones
     * of the same names. Call it only while no forward pass runs ({@code ModelAdapters.exclusive}).
     *
     * @throws IllegalArgumentException with PEFT's message when {@code newRank} is smaller than the rank
     */
    public final void padRank(int newRank) {
        if (newRank == r) {
            return;
        }
        if (newRank < r) {
            throw new IllegalArgumentException("Trying to pad the adapter to the target rank " + newRank + ", but the "
                    + "original rank is larger (" + r + "). This is not possible.");
        }
        loraA = padded(loraA, 0, newRank);
        loraB = padded(loraB, 1, newRank);
        r = newRank;
    }

    private Parameter padded(Parameter old, int axis, int newRank) {
        NDArray array = old.getArray();
        long[] dims = array.getShape().getShape();
        dims[axis] = newRank;
        NDArray bigger = zeroPadded(array, dims);
        NDScope.unregister(bigger);
        Parameter replacement = AdapterParameters.create(old.getName(), bigger);
        replacement.freeze(!old.requiresGradient());
        parameters.replace(old.getName(), replacement);
        old.close();
        return replacement;
    }

    @Override
    public double scaling() {
        return scaling;
    }
}

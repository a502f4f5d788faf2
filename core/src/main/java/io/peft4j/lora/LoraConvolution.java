package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.config.InitLoraWeights;
import io.peft4j.tuner.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on a DJL convolution ({@code Conv1d}, {@code Conv2d}, {@code Conv3d}), as PEFT's {@code lora.ConvNd}:
 * {@code lora_A} is a convolution from {@code in} to {@code r} channels with the base kernel, stride and padding (but,
 * as in PEFT, no dilation and no groups), {@code lora_B} a 1x1 convolution from {@code r} to {@code out} channels with
 * the base layer's groups. Merging is refused for grouped convolutions, as in PEFT.
 */
public final class LoraConvolution implements LowRankAdapter {

    private final String name;
    private final int r;
    private final double scaling;
    private final float dropout;
    private final Convolution conv;
    private final Parameter baseWeight;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Shape ones;
    private final Shape zeros;
    private final Map<String, Parameter> parameters;

    /** Creates the adapter for {@code conv} (initialised). */
    public LoraConvolution(String name, Convolution conv, int r, double scaling, double dropout,
            InitLoraWeights init) {
        this.name = name;
        this.r = r;
        this.scaling = scaling;
        this.dropout = (float) dropout;
        this.conv = conv;
        this.baseWeight = conv.getDirectParameters().get("weight");
        NDArray weight = baseWeight.getArray();
        Shape shape = weight.getShape();
        long out = shape.get(0);
        long in = shape.get(1) * conv.getGroups();
        int kernelDims = shape.dimension() - 2;
        long[] kernel = shape.slice(2).getShape();
        long[] unit = new long[kernelDims];
        long[] none = new long[kernelDims];
        java.util.Arrays.fill(unit, 1);
        this.ones = new Shape(unit);
        this.zeros = new Shape(none);
        NDManager manager = weight.getManager();
        DataType dtype = weight.getDataType();
        Shape aShape = new Shape(r, in).addAll(new Shape(kernel));
        Shape bShape = new Shape(out, r / conv.getGroups()).addAll(ones);
        NDArray a = uniform(manager, aShape, dtype);
        NDArray b = init == InitLoraWeights.FALSE ? uniform(manager, bShape, dtype)
                : manager.zeros(bShape, dtype);
        if (init == InitLoraWeights.GAUSSIAN) {
            a = manager.randomNormal(0f, 1f / r, aShape, dtype);
        }
        loraA = AdapterParameters.create("lora_A." + name + ".weight", a);
        loraB = AdapterParameters.create("lora_B." + name + ".weight", b);
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put(loraA.getName(), loraA);
        params.put(loraB.getName(), loraB);
        this.parameters = Collections.unmodifiableMap(params);
    }

    /** torch's default conv init {@code kaiming_uniform_(a=sqrt(5))}: U(-1/sqrt(fan_in), +1/sqrt(fan_in)). */
    private static NDArray uniform(NDManager manager, Shape shape, DataType dtype) {
        float bound = (float) (1.0 / Math.sqrt(shape.size() / shape.get(0)));
        return manager.randomUniform(-bound, bound, shape, dtype);
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
        return parameters;
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        NDArray a = store.getValue(loraA, input.getDevice(), training);
        NDArray b = store.getValue(loraB, input.getDevice(), training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray hidden = x.getNDArrayInternal()
                .convolution(x, a, null, conv.getStride(), conv.getPadding(), ones, 1).head();
        NDArray delta = hidden.getNDArrayInternal()
                .convolution(hidden, b, null, ones, zeros, ones, conv.getGroups()).head();
        return output.addi(delta.muli((float) scaling));
    }

    @Override
    public Parameter loraA() {
        return loraA;
    }

    @Override
    public Parameter loraB() {
        return loraB;
    }

    /** {@code B @ A * scaling} reshaped to the base kernel, {@code [out, in, k...]}. */
    @Override
    public NDArray deltaWeight() {
        NDArray a = loraA.getArray();
        NDArray b = loraB.getArray();
        Shape base = baseWeight.getArray().getShape();
        return b.reshape(b.getShape().get(0), r).matMul(a.reshape(r, -1)).reshape(base).mul((float) scaling);
    }

    private void checkMergeable() {
        if (conv.getGroups() > 1) {
            throw new UnsupportedOperationException(
                    "Merging is not supported for _ConvNd layers with groups > 1! (adapter '" + name + "')");
        }
    }

    @Override
    public void merge(boolean safe) {
        checkMergeable();
        WeightUpdate.add(baseWeight.getArray(), this::deltaWeight, safe, "adapter '" + name + "'");
    }

    @Override
    public void unmerge() {
        checkMergeable();
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
}

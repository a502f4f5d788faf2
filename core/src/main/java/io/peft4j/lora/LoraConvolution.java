package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;

import java.util.Arrays;
import io.peft4j.layer.Scalars;

/**
 * LoRA on a DJL convolution ({@code Conv1d}, {@code Conv2d}, {@code Conv3d}), as PEFT's {@code lora.ConvNd}:
 * {@code lora_A} is a convolution from {@code in} to {@code r} channels with the base kernel, stride and padding (but,
 * as in PEFT, no dilation and no groups), {@code lora_B} a 1x1 convolution from {@code r} to {@code out} channels with
 * the base layer's groups. Merging is refused for grouped convolutions, as in PEFT. Not final because
 * {@link DoraConvolution} is LoRA on a convolution with a magnitude on top.
 */
public class LoraConvolution extends LowRankFactors {

    private final float dropout;
    private final Convolution conv;
    private final Shape ones;
    private final Shape zeros;

    /** Creates the adapter for {@code conv} (initialised). */
    public LoraConvolution(String name, Convolution conv, int r, double scaling, double dropout,
            InitLoraWeights init) {
        super(name, conv.getDirectParameters().get("weight"), r, scaling, "lora_A", "lora_B", ".weight",
                initA(conv, r, init), initB(conv, r, init));
        this.dropout = (float) dropout;
        this.conv = conv;
        int kernelDims = baseWeight().getArray().getShape().dimension() - 2;
        this.ones = unit(kernelDims, 1);
        this.zeros = unit(kernelDims, 0);
    }

    private static Shape unit(int dims, long value) {
        long[] d = new long[dims];
        Arrays.fill(d, value);
        return new Shape(d);
    }

    private static NDArray initA(Convolution conv, int r, InitLoraWeights init) {
        NDArray weight = conv.getDirectParameters().get("weight").getArray();
        Shape shape = new Shape(r, weight.getShape().get(1) * conv.getGroups()).addAll(weight.getShape().slice(2));
        return init.kind() == InitLoraWeights.Kind.GAUSSIAN
                ? weight.getManager().randomNormal(0f, 1f / r, shape, weight.getDataType())
                : uniform(weight.getManager(), shape, weight.getDataType());
    }

    private static NDArray initB(Convolution conv, int r, InitLoraWeights init) {
        NDArray weight = conv.getDirectParameters().get("weight").getArray();
        Shape shape = new Shape(weight.getShape().get(0), r / conv.getGroups())
                .addAll(unit(weight.getShape().dimension() - 2, 1));
        return init.kind() == InitLoraWeights.Kind.FALSE ? uniform(weight.getManager(), shape, weight.getDataType())
                : weight.getManager().zeros(shape, weight.getDataType());
    }

    /** torch's default conv init {@code kaiming_uniform_(a=sqrt(5))}: U(-1/sqrt(fan_in), +1/sqrt(fan_in)). */
    private static NDArray uniform(NDManager manager, Shape shape, DataType dtype) {
        float bound = (float) (1.0 / Math.sqrt(shape.size() / shape.get(0)));
        return manager.randomUniform(-bound, bound, shape, dtype);
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        NDArray a = store.getValue(loraA(), input.getDevice(), training);
        NDArray b = store.getValue(loraB(), input.getDevice(), training);
        NDArray bias = loraBBias() == null ? null : store.getValue(loraBBias(), input.getDevice(), training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        return output.addi(Scalars.muli(lowRankPath(x, a, b, bias), scaling()));
    }

    /** {@code lora_B(lora_A(x))}: the base kernel, stride and padding, then the 1x1 convolution; not scaled. */
    protected final NDArray lowRankPath(NDArray x, NDArray a, NDArray b) {
        return lowRankPath(x, a, b, null);
    }

    /** {@code lora_B(lora_A(x))} with {@code lora_B}'s bias ({@code lora_bias}, or null); not scaled. */
    protected final NDArray lowRankPath(NDArray x, NDArray a, NDArray b, NDArray bias) {
        NDArray hidden = x.getNDArrayInternal()
                .convolution(x, a, null, conv.getStride(), conv.getPadding(), ones, 1).head();
        return hidden.getNDArrayInternal().convolution(hidden, b, bias, ones, zeros, ones, conv.getGroups()).head();
    }

    /** The base convolution. */
    protected final Convolution conv() {
        return conv;
    }

    /** The dropout probability on the adapter's input while training. */
    protected final float dropout() {
        return dropout;
    }

    /** {@code B @ A * scaling} reshaped to the base kernel, {@code [out, in, k...]}. */
    @Override
    public NDArray deltaWeight() {
        return delta(loraA().getArray(), loraB().getArray());
    }

    /** {@code b @ a * scaling} for factors {@code a}, {@code b}, reshaped to the base kernel. */
    protected final NDArray delta(NDArray a, NDArray b) {
        return Scalars.mul(b.reshape(b.getShape().get(0), rank()).matMul(a.reshape(rank(), -1))
                .reshape(baseWeight().getArray().getShape()), scaling());
    }

    private void checkMergeable() {
        if (conv.getGroups() > 1) {
            throw new UnsupportedOperationException(
                    "Merging is not supported for _ConvNd layers with groups > 1! (adapter '" + adapterName() + "')");
        }
    }

    @Override
    public void merge(boolean safe) {
        checkMergeable();
        super.merge(safe);
    }

    @Override
    public void unmerge() {
        checkMergeable();
        super.unmerge();
    }
}

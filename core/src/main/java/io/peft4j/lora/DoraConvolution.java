package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;

import java.util.Arrays;

/**
 * DoRA on a convolution ({@code Conv1d}, {@code Conv2d}, {@code Conv3d}; {@code use_dora}), as PEFT's
 * {@code DoraConv1d/2d/3dVariant}: LoRA's {@code lora_A} and {@code lora_B} convolutions plus a magnitude {@code m}
 * ({@code lora_magnitude_vector}, shape {@code [1, out, 1...]}), the norm of each output channel's kernel of
 * {@code V = W + s (B A)} reshaped to the base kernel. The output is
 * {@code base(x) + (m/||V|| - 1) * conv(x, W) + (m/||V||) * lora_B(lora_A(x)) * s} with the norm detached; with dropout
 * while training, {@code conv(x, W)} is recomputed from the dropped-out input, as in PEFT. Grouped convolutions are
 * refused when the adapter is created (PEFT's norm would not match the grouped layer), and merging follows LoRA's.
 */
public final class DoraConvolution extends LoraConvolution {

    private final Parameter baseBias;
    private final Shape biasShape;
    private final DoraMagnitude magnitude;

    /** Creates the adapter for {@code conv} (initialised, groups 1). */
    public DoraConvolution(String name, Convolution conv, int r, double scaling, double dropout,
            InitLoraWeights init) {
        super(name, conv, r, scaling, dropout, init);
        this.baseBias = conv.getDirectParameters().contains("bias") ? conv.getDirectParameters().get("bias") : null;
        long[] bias = new long[baseWeight().getArray().getShape().dimension()];
        Arrays.fill(bias, 1);
        bias[1] = -1;
        this.biasShape = new Shape(bias);
        this.magnitude = new DoraMagnitude(name, baseWeight(), DoraMagnitude.Layout.CHANNELS, this::deltaWeight);
        addParameter(magnitude.parameter());
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(loraA(), device, training);
        NDArray b = store.getValue(loraB(), device, training);
        NDArray scale = magnitude.scale(store, device, training, a, b, this::delta);
        boolean drop = training && dropout() > 0f;
        NDArray x = drop ? Dropout.dropout(input, dropout(), true).head() : input;
        NDArray baseResult;
        if (drop) {
            Convolution conv = conv();
            NDArray w = store.getValue(baseWeight(), device, training);
            baseResult = x.getNDArrayInternal().convolution(x, w, null, conv.getStride(), conv.getPadding(),
                    conv.getDilation(), conv.getGroups()).head();
        } else {
            baseResult = baseBias == null ? output
                    : output.sub(store.getValue(baseBias, device, training).reshape(biasShape));
        }
        return DoraMagnitude.addTo(output, scale, baseResult, lowRankPath(x, a, b), scaling(), training);
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

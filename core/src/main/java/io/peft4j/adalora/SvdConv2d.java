package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.convolutional.Conv2d;

/**
 * AdaLoRA on a Conv2d, as PEFT 0.20's {@code adalora.SVDConv2d}: {@code lora_A: [r, in * kh * kw]},
 * {@code lora_E: [r, 1]}, {@code lora_B: [out, r]}, {@code ranknum}; the delta
 * {@code (B @ (A * E) * scaling / (ranknum + 1e-5))} reshaped to the kernel {@code [out, in, kh, kw]} is applied as a
 * convolution of the (dropped-out) input with the base layer's stride, padding and dilation:
 * {@code y = base(x) + conv2d(dropout(x), delta)}. Grouped convolutions are refused when the adapter is created
 * (PEFT's {@code lora_A} has {@code in * kh * kw} columns, which does not reshape to a grouped kernel).
 */
public final class SvdConv2d extends SvdFactors {

    private final Conv2d conv;

    /**
     * Creates the adapter for {@code conv} (initialised, groups 1).
     *
     * @param r the number of ranks the tensors have
     * @param ranknum the rank the scaling divides by ({@code init_r})
     */
    public SvdConv2d(String name, Conv2d conv, int r, int ranknum, double loraAlpha, double dropout, boolean init) {
        super(name, conv.getDirectParameters().get("weight"), inWidth(conv), r, ranknum, loraAlpha, dropout, init);
        this.conv = conv;
    }

    /** {@code in_channels * kh * kw}. */
    private static long inWidth(Conv2d conv) {
        ai.djl.ndarray.types.Shape shape = conv.getDirectParameters().get("weight").getArray().getShape();
        return shape.size() / shape.get(0);
    }

    @Override
    protected NDArray adapterOutput(NDArray x, NDArray a, NDArray e, NDArray b) {
        NDArray kernel = delta(a, e, b).reshape(baseWeight().getArray().getShape());
        return x.getNDArrayInternal().convolution(x, kernel, null, conv.getStride(), conv.getPadding(),
                conv.getDilation(), conv.getGroups()).head();
    }
}

package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;

/**
 * AdaLoRA on a Linear, as PEFT's {@code adalora.SVDLinear}: {@code lora_A: [r, in]}, {@code lora_E: [r, 1]},
 * {@code lora_B: [out, r]}, {@code ranknum};
 * {@code y = base(x) + dropout(x) @ (A * E)^T @ B^T * scaling / (ranknum + 1e-5)} with {@code scaling = lora_alpha}.
 */
public final class SvdLinear extends SvdFactors {

    /**
     * Creates the adapter next to the Linear weight {@code baseWeight} ({@code [out, in]}, initialised).
     *
     * @param r the number of ranks the tensors have
     * @param ranknum the rank the scaling divides by ({@code init_r})
     */
    public SvdLinear(String name, Parameter baseWeight, int r, int ranknum, double loraAlpha, double dropout,
            boolean init) {
        super(name, baseWeight, baseWeight.getArray().getShape().get(1), r, ranknum, loraAlpha, dropout, init);
    }

    @Override
    protected NDArray adapterOutput(NDArray x, NDArray a, NDArray e, NDArray b) {
        NDArray hidden = Linear.linear(x, a.mul(e)).head();
        return Linear.linear(hidden, b).head().muli(divisor());
    }
}

package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import io.peft4j.layer.Scalars;

/**
 * AdaLoRA on a Linear, as PEFT's {@code adalora.SVDLinear}: {@code lora_A: [r, in]}, {@code lora_E: [r, 1]} (the
 * singular values), {@code lora_B: [out, r]}, {@code ranknum} (= r, frozen);
 * {@code y = base(x) + dropout(x) @ (A * E)^T @ B^T * scaling / (ranknum + 1e-5)} with {@code scaling = lora_alpha}
 * ({@code r} when {@code lora_alpha <= 0}).
 * Initialisation: E zeros, A and B normal with std 0.02 (all standard normal with {@code init_lora_weights=false}).
 * Rank, scaling, the factors and merging are LoRA's ({@link LowRankFactors}); the delta has E and the divisor in it.
 */
public final class SvdLinear extends SvdFactors {

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
        super(name, baseWeight, baseWeight.getArray().getShape().get(1), r, ranknum, loraAlpha, dropout, init);
    }

    @Override
    protected NDArray adapterOutput(NDArray x, NDArray a, NDArray e, NDArray b) {
        NDArray hidden = Linear.linear(x, a.mul(e)).head();
        return Scalars.muli(Linear.linear(hidden, b).head(), divisor());
    }
}

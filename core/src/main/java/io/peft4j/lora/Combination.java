package io.peft4j.lora;

/** How {@link WeightedAdapters} combines LoRA adapters, as PEFT's {@code add_weighted_adapter}. */
public enum Combination {
    /** Concatenate the factors: rank = sum of ranks, exact. */
    CAT,
    /** Weighted sum of the factors (same rank required): {@code A = sum(sqrt(|w s|) sign A_i)}, {@code B} likewise. */
    LINEAR,
    /** Truncated SVD of the weighted sum of the weight deltas: rank = {@code svd_rank} or the largest rank. */
    SVD
}

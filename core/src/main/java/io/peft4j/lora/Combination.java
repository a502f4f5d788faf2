package io.peft4j.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How {@link WeightedAdapters} combines LoRA adapters: PEFT 0.20's {@code combination_type} of
 * {@code add_weighted_adapter}, named as PEFT names it ({@link #peftName()}).
 *
 * <p>The factor forms ({@code linear}, {@code ties}, {@code dare_*}, {@code magnitude_prune}) merge the {@code A}
 * factors and the {@code B} factors separately (same rank required), with weight {@code sign(w s) sqrt(|w s|)} on
 * {@code A} and {@code sqrt(|w s|)} on {@code B}; so {@code B_c A_c} has cross terms {@code B_i A_j}, as in PEFT. The
 * {@code _svd} forms merge the deltas {@code s B A} weighed by {@code w s} (the scaling counts twice, as in PEFT) and
 * factor the result with a truncated SVD of rank {@code svd_rank}.
 */
public enum Combination {
    /** Concatenate the factors: rank = sum of ranks, exact ({@code A_i} scaled by {@code w s}). */
    CAT(false, false, false),
    /** Weighted sum of the factors (same rank required). */
    LINEAR(false, false, false),
    /** Truncated SVD of the weighted sum of the deltas: rank = {@code svd_rank} or the largest rank. */
    SVD(true, false, false),
    /** TIES on the factors: magnitude pruning to {@code density}, sign election, disjoint mean. */
    TIES(false, true, true),
    /** TIES on the deltas, then SVD. */
    TIES_SVD(true, true, true),
    /** DARE on the factors: random pruning to {@code density} with rescaling, weighted sum. */
    DARE_LINEAR(false, true, false),
    /** DARE on the deltas, then SVD. */
    DARE_LINEAR_SVD(true, true, false),
    /** DARE pruning, then TIES' sign election and disjoint mean, on the factors. */
    DARE_TIES(false, true, true),
    /** DARE-TIES on the deltas, then SVD. */
    DARE_TIES_SVD(true, true, true),
    /** Magnitude pruning to {@code density}, weighted sum, on the factors. */
    MAGNITUDE_PRUNE(false, true, false),
    /** Magnitude pruning on the deltas, then SVD. */
    MAGNITUDE_PRUNE_SVD(true, true, false);

    private final boolean svd;
    private final boolean usesDensity;
    private final boolean usesMajoritySign;

    Combination(boolean svd, boolean usesDensity, boolean usesMajoritySign) {
        this.svd = svd;
        this.usesDensity = usesDensity;
        this.usesMajoritySign = usesMajoritySign;
    }

    /** Whether the result is factored by SVD of the merged delta. */
    public boolean isSvd() {
        return svd;
    }

    /** Whether {@code density} is used (and required). */
    public boolean usesDensity() {
        return usesDensity;
    }

    /** Whether {@code majority_sign_method} is used. */
    public boolean usesMajoritySign() {
        return usesMajoritySign;
    }

    /** Whether the merge draws random masks (DARE). */
    public boolean isRandom() {
        return this == DARE_LINEAR || this == DARE_LINEAR_SVD || this == DARE_TIES || this == DARE_TIES_SVD;
    }

    /** Whether the merge needs every adapter to have the same rank (PEFT's check). */
    public boolean needsSameRank() {
        return !svd && this != CAT;
    }

    /** PEFT's name: {@code ties_svd}, {@code magnitude_prune}, ... */
    public String peftName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The combination PEFT calls {@code name}. */
    public static Combination ofPeftName(String name) {
        for (Combination c : values()) {
            if (c.peftName().equals(name)) {
                return c;
            }
        }
        List<String> names = new ArrayList<>();
        for (Combination c : values()) {
            names.add(c.peftName());
        }
        throw new IllegalArgumentException("Invalid combination_type: " + name + " (one of " + names + ")");
    }
}

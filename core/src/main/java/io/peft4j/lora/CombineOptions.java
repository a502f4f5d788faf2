package io.peft4j.lora;

/**
 * The optional arguments of PEFT's {@code add_weighted_adapter}, plus the seed of DARE's random pruning.
 *
 * @param svdRank rank of an {@code _svd} combination; {@code null} for the largest input rank
 * @param svdClamp quantile at which the SVD factors are clamped ({@code svd_clamp}); {@code null} for none
 * @param density fraction of entries kept by pruning ({@code ties}, {@code dare_*}, {@code magnitude_prune})
 * @param majoritySign TIES' sign election ({@code majority_sign_method})
 * @param seed seed of DARE's random masks; {@code null} draws one (and logs it, so the result can be reproduced).
 *     peft4j's masks cannot equal those of PyTorch's {@code torch.bernoulli}: a given seed reproduces peft4j's own
 *     result, not PEFT's
 */
public record CombineOptions(Integer svdRank, Double svdClamp, Double density, MajoritySignMethod majoritySign,
        Long seed) {

    /** PEFT's defaults: no svd_rank, no clamp, no density, {@code total}, a random seed. */
    public static final CombineOptions DEFAULTS = new CombineOptions(null, null, null, MajoritySignMethod.TOTAL,
            null);

    /** Normalises {@code majoritySign} to {@code total} when {@code null}. */
    public CombineOptions {
        if (majoritySign == null) {
            majoritySign = MajoritySignMethod.TOTAL;
        }
    }

    /**
     * Parses {@code key=value} pairs separated by commas, with PEFT's argument names: {@code svd_rank},
     * {@code svd_clamp}, {@code density}, {@code majority_sign_method}, and {@code seed}; {@code null} or blank gives
     * the defaults.
     *
     * @throws IllegalArgumentException naming the pair at fault
     */
    public static CombineOptions parse(String text) {
        CombineOptions o = DEFAULTS;
        if (text == null || text.isBlank()) {
            return o;
        }
        for (String pair : text.split(",")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("option '" + pair.trim() + "' is not key=value (keys: svd_rank, "
                        + "svd_clamp, density, majority_sign_method, seed)");
            }
            o = o.with(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        return o;
    }

    /**
     * These options with one of them set by PEFT's name: {@code svd_rank}, {@code svd_clamp}, {@code density},
     * {@code majority_sign_method}, or {@code seed}.
     *
     * @throws IllegalArgumentException for an unknown key or a value that is not a number
     */
    public CombineOptions with(String key, String value) {
        try {
            switch (key) {
                case "svd_rank":
                    return withSvdRank(Integer.valueOf(value));
                case "svd_clamp":
                    return withSvdClamp(Double.valueOf(value));
                case "density":
                    return withDensity(Double.valueOf(value));
                case "majority_sign_method":
                    return withMajoritySign(MajoritySignMethod.ofPeftName(value));
                case "seed":
                    return withSeed(Long.valueOf(value));
                default:
                    throw new IllegalArgumentException("unknown option '" + key + "' (keys: svd_rank, svd_clamp, "
                            + "density, majority_sign_method, seed)");
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + ": '" + value + "' is not a number");
        }
    }

    /** These options with {@code svd_rank}. */
    public CombineOptions withSvdRank(Integer rank) {
        return new CombineOptions(rank, svdClamp, density, majoritySign, seed);
    }

    /** These options with {@code svd_clamp}. */
    public CombineOptions withSvdClamp(Double clamp) {
        return new CombineOptions(svdRank, clamp, density, majoritySign, seed);
    }

    /** These options with {@code density}. */
    public CombineOptions withDensity(Double d) {
        return new CombineOptions(svdRank, svdClamp, d, majoritySign, seed);
    }

    /** These options with {@code majority_sign_method}. */
    public CombineOptions withMajoritySign(MajoritySignMethod method) {
        return new CombineOptions(svdRank, svdClamp, density, method, seed);
    }

    /** These options with DARE's seed. */
    public CombineOptions withSeed(Long s) {
        return new CombineOptions(svdRank, svdClamp, density, majoritySign, s);
    }
}

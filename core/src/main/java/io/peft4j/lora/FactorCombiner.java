package io.peft4j.lora;

import io.peft4j.linalg.LapackSvd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One module's part of PEFT 0.20's {@code add_weighted_adapter} ({@code tuners/lora/model.py}): the new adapter's
 * factors from the source adapters' factors, for every {@link Combination}. Plain float32 arrays, no model: the Java
 * API ({@link WeightedAdapters}) and the offline CLI ({@link AdapterCombiner}) share it, so both give the same numbers.
 */
final class FactorCombiner {

    private FactorCombiner() {}

    /**
     * The combined factors for the module at {@code path} (its scaling is 1: {@code lora_alpha = r}).
     *
     * @param sources the adapters that have this module, in the order given
     * @param weights their weights
     * @param newRank the new adapter's rank
     * @param random DARE's mask source
     */
    static LoraFactors combine(String path, List<LoraFactors> sources, List<Double> weights, Combination combination,
            int newRank, CombineOptions options, SplittableRandom random) {
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("No matching LoRAs found for module '" + path + "'.");
        }
        if (combination == Combination.CAT) {
            return cat(sources, weights, newRank);
        }
        if (combination.isSvd()) {
            return svd(path, sources, weights, combination, newRank, options, random);
        }
        return factorWise(path, sources, weights, combination, options, random);
    }

    /** {@code cat}: {@code A_i * w_i s_i} stacked on the rank axis, {@code B_i} beside each other, zero-padded. */
    private static LoraFactors cat(List<LoraFactors> sources, List<Double> weights, int newRank) {
        LoraFactors first = sources.get(0);
        int in = first.in();
        int out = first.out();
        float[] a = new float[newRank * in];
        float[] b = new float[out * newRank];
        int offset = 0;
        for (int i = 0; i < sources.size(); i++) {
            LoraFactors s = sources.get(i);
            float w = (float) (weights.get(i) * s.scaling());
            int r = s.rank();
            for (int t = 0; t < r * in; t++) {
                a[offset * in + t] = s.a()[t] * w;
            }
            for (int row = 0; row < out; row++) {
                System.arraycopy(s.b(), row * r, b, row * newRank + offset, r);
            }
            offset += r;
        }
        return new LoraFactors(a, LoraFactors.withRank(first.aShape(), 0, newRank), b,
                LoraFactors.withRank(first.bShape(), 1, newRank), 1.0);
    }

    /** The factor forms: A's and B's merged separately with {@code sign sqrt|w s|} and {@code sqrt|w s|}. */
    private static LoraFactors factorWise(String path, List<LoraFactors> sources, List<Double> weights,
            Combination combination, CombineOptions options, SplittableRandom random) {
        LoraFactors first = sources.get(0);
        float[] weightsA = new float[sources.size()];
        float[] weightsB = new float[sources.size()];
        List<float[]> as = new ArrayList<>();
        List<float[]> bs = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            LoraFactors s = sources.get(i);
            if (!Arrays.equals(s.aShape(), first.aShape()) || !Arrays.equals(s.bShape(), first.bShape())) {
                throw new IllegalArgumentException("combination_type " + combination.peftName() + " needs factors "
                        + "of one shape at module '" + path + "', found " + first + " and " + s);
            }
            double ws = weights.get(i) * s.scaling();
            double root = Math.sqrt(Math.abs(ws));
            weightsA[i] = (float) (ws >= 0 ? root : -root);
            weightsB[i] = (float) root;
            as.add(s.a());
            bs.add(s.b());
        }
        float[] a = TaskMerging.merge(combination, as, weightsA, options, random);
        float[] b = TaskMerging.merge(combination, bs, weightsB, options, random);
        return new LoraFactors(a, first.aShape().clone(), b, first.bShape().clone(), 1.0);
    }

    /** The {@code _svd} forms: merge the deltas (weights {@code w s}), truncated SVD, optional clamp. */
    private static LoraFactors svd(String path, List<LoraFactors> sources, List<Double> weights,
            Combination combination, int newRank, CombineOptions options, SplittableRandom random) {
        LoraFactors first = sources.get(0);
        int dims = first.aShape().length;
        if (dims == 3 || dims == 5) {
            throw new IllegalArgumentException("combination_type " + combination.peftName() + " on module '" + path
                    + "' (a Conv" + (dims - 2) + "d): PEFT 0.20 decomposes only Linear, Embedding and Conv2d deltas "
                    + "(for other convolutions it runs a batched SVD that gives an adapter of the wrong shape); use "
                    + "cat or a factor combination");
        }
        int out = first.out();
        int in = first.in();
        float[] w = new float[sources.size()];
        for (int i = 0; i < sources.size(); i++) {
            LoraFactors s = sources.get(i);
            if (s.out() != out || s.in() != in) {
                throw new IllegalArgumentException("adapters disagree on the shape of module '" + path + "': "
                        + first + " and " + s);
            }
            w[i] = (float) (weights.get(i) * s.scaling());
        }
        int k = Math.min(out, in);
        if (newRank > k) {
            throw new IllegalArgumentException("svd_rank " + newRank + " is larger than min(out, in) = " + k
                    + " of module '" + path + "' (its delta is " + out + " x " + in + "): a rank-" + newRank
                    + " factorisation does not exist. PEFT 0.20 fails here too" + (out > in ? " (torch: \"mat1 and "
                    + "mat2 shapes cannot be multiplied (" + out + "x" + newRank + " and " + k + "x" + k + ")\")"
                    : " (it writes an adapter of the wrong shape)"));
        }
        int total = sources.stream().mapToInt(LoraFactors::rank).sum();
        LapackSvd.Result svd;
        if (combination == Combination.SVD && options.svdClamp() == null && newRank <= total && 2 * total < k) {
            // a plain sum of low-rank deltas and no clamp: only U S Vh matters, and the factors give it exactly
            svd = lowRank(sources, w, out, in, total);
        } else {
            List<float[]> deltas = new ArrayList<>();
            sources.forEach(source -> deltas.add(source.delta()));
            svd = LapackSvd.decompose(TaskMerging.merge(combination, deltas, w, options, random), out, in);
        }
        k = svd.k();
        float[] b = new float[out * newRank];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < newRank; j++) {
                b[i * newRank + j] = svd.u()[i * k + j] * svd.s()[j];
            }
        }
        float[] a = Arrays.copyOf(svd.vh(), newRank * in);
        if (options.svdClamp() != null) {
            clamp(a, b, options.svdClamp());
        }
        return new LoraFactors(a, LoraFactors.withRank(first.aShape(), 0, newRank), b,
                LoraFactors.withRank(first.bShape(), 1, newRank), 1.0);
    }

    /** The SVD of {@code sum_i w_i s_i B_i A_i} from the stacked factors, {@code r = sum of ranks}. */
    private static LapackSvd.Result lowRank(List<LoraFactors> sources, float[] w, int out, int in, int total) {
        float[] b = new float[out * total];
        float[] a = new float[total * in];
        int offset = 0;
        for (int i = 0; i < sources.size(); i++) {
            LoraFactors s = sources.get(i);
            int r = s.rank();
            float c = (float) (w[i] * s.scaling());
            for (int row = 0; row < out; row++) {
                for (int t = 0; t < r; t++) {
                    b[row * total + offset + t] = s.b()[row * r + t] * c;
                }
            }
            System.arraycopy(s.a(), 0, a, offset * in, r * in);
            offset += r;
        }
        return LapackSvd.decomposeProduct(b, a, out, total, in);
    }

    /**
     * PEFT's {@code svd_clamp}: {@code hi = torch.quantile(cat(B.flatten(), A.flatten()), q)} (linear
     * interpolation, in float32 as torch computes it), both factors clamped to {@code [-hi, hi]}.
     */
    static float clamp(float[] a, float[] b, double quantile) {
        if (!(quantile >= 0 && quantile <= 1)) {
            throw new IllegalArgumentException("svd_clamp is a quantile: quantile() q must be in the range [0, 1] "
                    + "but got " + quantile);
        }
        float[] all = new float[a.length + b.length];
        System.arraycopy(b, 0, all, 0, b.length);
        System.arraycopy(a, 0, all, b.length, a.length);
        Arrays.sort(all);
        float rank = (float) quantile * (all.length - 1);
        int below = (int) rank;
        int above = (int) Math.ceil(rank);
        float weight = rank - below;
        float start = all[below];
        float end = all[above];
        float hi = weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1 - weight);
        float lo = -hi;
        for (float[] x : new float[][] {a, b}) {
            for (int i = 0; i < x.length; i++) {
                x[i] = Math.min(hi, Math.max(lo, x[i]));
            }
        }
        return hi;
    }
}

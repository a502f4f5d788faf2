package io.peft4j.lora;

import io.peft4j.log.PeftLog;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * PEFT 0.20's {@code utils/merge_utils.py} on flat float32 tensors of one shape: {@code task_arithmetic},
 * {@code magnitude_prune}, {@code ties}, {@code dare_linear}, {@code dare_ties}. Arithmetic is float32 in PEFT's order
 * (prune, stack, weigh, reduce over the tensors), so results equal PEFT's up to rounding.
 *
 * <p>Two choices PEFT leaves to PyTorch: {@code torch.topk} does not say which of several entries of equal magnitude
 * at the pruning boundary it keeps (here: the lower flat index); and {@code torch.bernoulli}'s masks come from
 * PyTorch's generator, which Java cannot reproduce (here: a {@link SplittableRandom} seeded by the caller, one draw
 * per entry, tensors in the order given).
 */
public final class TaskMerging {

    private static final PeftLog LOG = PeftLog.get(TaskMerging.class);

    private TaskMerging() {}

    /**
     * Merges {@code tensors} (same length) with {@code weights} as PEFT's merge function for {@code combination}.
     *
     * @param random the source of DARE's masks (unused by the other methods)
     */
    static float[] merge(Combination combination, List<float[]> tensors, float[] weights, CombineOptions options,
            SplittableRandom random) {
        switch (combination) {
            case LINEAR:
            case SVD:
                return weightedSum(tensors, weights);
            case MAGNITUDE_PRUNE:
            case MAGNITUDE_PRUNE_SVD:
                return weightedSum(pruneAll(tensors, options.density(), null), weights);
            case TIES:
            case TIES_SVD:
                return disjointMerge(pruneAll(tensors, options.density(), null), weights, options.majoritySign());
            case DARE_LINEAR:
            case DARE_LINEAR_SVD:
                return weightedSum(pruneAll(tensors, options.density(), random), weights);
            case DARE_TIES:
            case DARE_TIES_SVD:
                return disjointMerge(pruneAll(tensors, options.density(), random), weights, options.majoritySign());
            default:
                throw new IllegalArgumentException("Invalid combination type " + combination.peftName());
        }
    }

    /** PEFT's {@code task_arithmetic}: {@code sum_i w_i t_i}. */
    static float[] weightedSum(List<float[]> tensors, float[] weights) {
        float[] out = new float[tensors.get(0).length];
        for (int j = 0; j < out.length; j++) {
            float sum = 0;
            for (int i = 0; i < tensors.size(); i++) {
                sum += tensors.get(i)[j] * weights[i];
            }
            out[j] = sum;
        }
        return out;
    }

    private static List<float[]> pruneAll(List<float[]> tensors, double density, SplittableRandom random) {
        List<float[]> out = new ArrayList<>();
        for (float[] t : tensors) {
            out.add(prune(t, density, random));
        }
        return out;
    }

    /**
     * PEFT's {@code prune}: keeps every entry when {@code density >= 1} (with PEFT's warning), else the
     * {@code int(density * numel)} largest magnitudes ({@code random == null}) or a random {@code density} share
     * rescaled by {@code 1 / density} (DARE).
     */
    static float[] prune(float[] tensor, double density, SplittableRandom random) {
        if (density >= 1) {
            LOG.warn("The density {} is greater than or equal to 1, no pruning will be performed.", density);
            return tensor.clone();
        }
        if (density < 0) {
            throw new IllegalArgumentException("Density should be >= 0, got " + density);
        }
        float[] out = new float[tensor.length];
        if (random == null) {
            int k = (int) (density * tensor.length);
            Integer[] order = new Integer[tensor.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Float.compare(Math.abs(tensor[y]), Math.abs(tensor[x])));
            for (int i = 0; i < k; i++) {
                out[order[i]] = tensor[order[i]];
            }
        } else {
            float scale = (float) density;
            for (int i = 0; i < tensor.length; i++) {
                if (random.nextDouble() < density) {
                    out[i] = tensor[i] / scale;
                }
            }
        }
        return out;
    }

    /**
     * PEFT's {@code calculate_majority_sign_mask} and {@code disjoint_merge}: the elected sign is {@code +1} where
     * the (unweighted) sum, or the sum of signs, is {@code >= 0}; each entry averages the weighted entries that agree
     * with it (a pruned zero never agrees).
     */
    static float[] disjointMerge(List<float[]> pruned, float[] weights, MajoritySignMethod method) {
        int n = pruned.get(0).length;
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            float total = 0;
            for (float[] t : pruned) {
                total += method == MajoritySignMethod.TOTAL ? t[j] : Math.signum(t[j]);
            }
            float elected = total >= 0 ? 1 : -1;
            float sum = 0;
            int kept = 0;
            for (int i = 0; i < pruned.size(); i++) {
                float v = pruned.get(i)[j];
                if (Math.signum(v) == elected) {
                    sum += v * weights[i];
                    kept++;
                }
            }
            out[j] = sum / Math.max(kept, 1);
        }
        return out;
    }
}

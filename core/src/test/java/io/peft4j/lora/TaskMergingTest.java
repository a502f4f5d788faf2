package io.peft4j.lora;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PEFT 0.20's merge_utils on small tensors worked by hand from its formulas. */
class TaskMergingTest {

    @Test
    void magnitudePruningKeepsIntDensityTimesNumelLargestMagnitudes() {
        // int(0.5 * 5) = 2: -0.5 and -0.4 stay (torch.topk of |t|)
        float[] pruned = TaskMerging.prune(new float[] {0.1f, -0.5f, 0.3f, 0.2f, -0.4f}, 0.5, null);
        assertArrayEquals(new float[] {0, -0.5f, 0, 0, -0.4f}, pruned);
        assertArrayEquals(new float[] {1, 2}, TaskMerging.prune(new float[] {1, 2}, 1.0, null), "density >= 1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaskMerging.prune(new float[] {1}, -0.1, null));
        assertEquals("Density should be >= 0, got -0.1", e.getMessage());
    }

    @Test
    void tiesElectsTheSignAndAveragesTheAgreeingEntries() {
        List<float[]> t = List.of(new float[] {1, -3, 0}, new float[] {2, 1, 0});
        float[] w = {1, 1};
        // total: sums 3, -2, 0 -> signs +, -, + ; a zero never agrees; mean over the agreeing ones (at least 1)
        assertArrayEquals(new float[] {1.5f, -3, 0}, TaskMerging.disjointMerge(t, w, MajoritySignMethod.TOTAL));
        // frequency: sign sums 2, 0, 0 -> all + ; entry 1 keeps only the positive 1
        assertArrayEquals(new float[] {1.5f, 1, 0}, TaskMerging.disjointMerge(t, w, MajoritySignMethod.FREQUENCY));
        // weights apply after the election: (0.5 * 1 + 2 * 2) / 2
        assertEquals(2.25f, TaskMerging.disjointMerge(t, new float[] {0.5f, 2}, MajoritySignMethod.TOTAL)[0]);
    }

    @Test
    void dareKeepsARandomShareRescaledAndIsReproducibleFromItsSeed() {
        float[] t = new float[20_000];
        for (int i = 0; i < t.length; i++) {
            t[i] = (i % 7) - 3.5f;
        }
        float[] a = TaskMerging.prune(t, 0.3, new SplittableRandom(42));
        float[] b = TaskMerging.prune(t, 0.3, new SplittableRandom(42));
        float[] c = TaskMerging.prune(t, 0.3, new SplittableRandom(43));
        assertArrayEquals(a, b, "same seed, same masks");
        assertFalse(java.util.Arrays.equals(a, c), "another seed, other masks");
        int kept = 0;
        for (int i = 0; i < t.length; i++) {
            if (a[i] != 0) {
                kept++;
                assertEquals(t[i] / 0.3f, a[i], 0f, "a kept entry is rescaled by 1 / density");
            }
        }
        // Bernoulli(0.3) over 20000 entries: 6000 expected, standard deviation 65
        assertTrue(Math.abs(kept - 6000) < 400, "kept " + kept);
    }

    @Test
    void dareLinearWithDensityOneIsLinear() {
        List<float[]> t = List.of(new float[] {1, 2}, new float[] {3, -4});
        float[] w = {0.5f, 2};
        assertArrayEquals(TaskMerging.merge(Combination.LINEAR, t, w, CombineOptions.DEFAULTS, null),
                TaskMerging.merge(Combination.DARE_LINEAR, t, w, CombineOptions.DEFAULTS.withDensity(1.0),
                        new SplittableRandom(1)));
        assertArrayEquals(new float[] {6.5f, -7}, TaskMerging.weightedSum(t, w));
    }
}

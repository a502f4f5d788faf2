package io.peft4j.lora;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SVD combinations' two paths: LAPACK on the merged delta, and the factored one for low-rank sums. */
class FactorCombinerTest {

    private static LoraFactors random(Random rnd, int out, int in, int r, double scaling) {
        float[] a = new float[r * in];
        float[] b = new float[out * r];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rnd.nextGaussian();
        }
        return new LoraFactors(a, new long[] {r, in}, b, new long[] {out, r}, scaling);
    }

    private static double[] product(LoraFactors f) {
        double[] d = new double[f.out() * f.in()];
        for (int i = 0; i < f.out(); i++) {
            for (int t = 0; t < f.rank(); t++) {
                for (int j = 0; j < f.in(); j++) {
                    d[i * f.in() + j] += f.b()[i * f.rank() + t] * f.a()[t * f.in() + j] * f.scaling();
                }
            }
        }
        return d;
    }

    @Test
    void aLowRankSumFactoredWithoutTheDenseSvdHasTheSameDelta() {
        Random rnd = new Random(5);
        List<LoraFactors> sources = List.of(random(rnd, 96, 80, 4, 2.0), random(rnd, 96, 80, 3, 0.5));
        List<Double> weights = List.of(0.7, -1.3);
        // 2 * 7 < 80: the factored path; svd_clamp forces LAPACK on the dense delta
        LoraFactors factored = FactorCombiner.combine("m", sources, weights, Combination.SVD, 7,
                CombineOptions.DEFAULTS, null);
        LoraFactors dense = FactorCombiner.combine("m", sources, weights, Combination.SVD, 7,
                CombineOptions.DEFAULTS.withSvdClamp(1.0), null);
        double[] expected = new double[96 * 80];
        for (int i = 0; i < sources.size(); i++) {
            LoraFactors s = sources.get(i);
            double[] d = product(s);
            for (int j = 0; j < d.length; j++) {
                expected[j] += weights.get(i) * s.scaling() * d[j]; // PEFT: w s on s B A
            }
        }
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (LoraFactors f : List.of(factored, dense)) {
            assertEquals(1.0, f.scaling());
            double[] actual = product(f);
            double max = 0;
            for (int j = 0; j < actual.length; j++) {
                max = Math.max(max, Math.abs(actual[j] - expected[j]));
            }
            assertTrue(max < 1e-5 * scale, "B A equals the weighted sum of the deltas: " + max + " of " + scale);
        }
    }
}

package io.peft4j.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leading singular triplets against matrices built from known singular vectors and values ({@code Q1 diag(s)
 * Q2^T} with random orthonormal Q1, Q2): values exact, vectors equal up to sign, the product sign-free; torch's
 * randomized {@code svd_lowrank} exact on a matrix of rank q and close to the full SVD on a decaying spectrum.
 */
class SvdTest {

    private static final Random RANDOM = new Random(7);

    private static DenseMatrix gaussian(int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = RANDOM.nextGaussian();
        }
        return new DenseMatrix(rows, cols, v);
    }

    /** {@code Q1[:, :k] diag(s) Q2[:, :k]^T} with orthonormal columns from QR of random matrices. */
    private static DenseMatrix withSpectrum(int m, int n, double[] s, DenseMatrix[] vectors) {
        int k = s.length;
        DenseMatrix u = HouseholderQr.leading(gaussian(m, k), k).q();
        DenseMatrix v = HouseholderQr.leading(gaussian(n, k), k).q();
        double[] us = u.data().clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                us[i * k + j] *= s[j];
            }
        }
        vectors[0] = u;
        vectors[1] = v;
        return new DenseMatrix(m, k, us).times(v.transpose());
    }

    private static DenseMatrix product(Svd.Result r) {
        DenseMatrix left = r.left();
        double[] ls = left.data().clone();
        int k = r.values().length;
        for (int i = 0; i < left.rows(); i++) {
            for (int j = 0; j < k; j++) {
                ls[i * k + j] *= r.values()[j];
            }
        }
        return new DenseMatrix(left.rows(), k, ls).times(r.right());
    }

    @Test
    void leadingTripletsAreTheKnownOnesUpToSign() {
        for (int[] shape : new int[][] {{12, 8}, {8, 12}}) {
            double[] s = {9, 7, 5, 3, 2, 1.5, 1, 0.5};
            DenseMatrix[] vectors = new DenseMatrix[2];
            DenseMatrix a = withSpectrum(shape[0], shape[1], s, vectors);
            Svd.Result r = Svd.leading(a, 3);
            assertArrayEquals(new double[] {9, 7, 5}, r.values(), 1e-12, "largest singular values, descending");
            for (int j = 0; j < 3; j++) {
                double dot = 0;
                for (int i = 0; i < shape[0]; i++) {
                    dot += r.left().get(i, j) * vectors[0].get(i, j);
                }
                assertEquals(1, Math.abs(dot), 1e-12, "left vector " + j + " equals the known one up to sign");
                double rightDot = 0;
                for (int i = 0; i < shape[1]; i++) {
                    rightDot += r.right().get(j, i) * vectors[1].get(i, j);
                }
                assertEquals(dot, rightDot, 1e-12, "the right vector carries the same sign");
            }
            double[] expected = new double[] {9, 7, 5};
            DenseMatrix truncated = withSpectrumProduct(vectors, expected);
            assertArrayEquals(truncated.data(), product(r).data(), 1e-12, "U_k S_k Vh_k is the rank-k truncation");
        }
    }

    private static DenseMatrix withSpectrumProduct(DenseMatrix[] vectors, double[] s) {
        int k = s.length;
        DenseMatrix u = vectors[0].leadingColumns(k);
        double[] us = u.data().clone();
        for (int i = 0; i < u.rows(); i++) {
            for (int j = 0; j < k; j++) {
                us[i * k + j] *= s[j];
            }
        }
        return new DenseMatrix(u.rows(), k, us).times(vectors[1].leadingColumns(k).transpose());
    }

    @Test
    void randomizedIsExactOnARankQMatrixAndCloseOnADecayingSpectrum() {
        for (int[] shape : new int[][] {{40, 25}, {25, 40}}) {
            DenseMatrix[] vectors = new DenseMatrix[2];
            DenseMatrix rankFour = withSpectrum(shape[0], shape[1], new double[] {4, 3, 2, 1}, vectors);
            Svd.Result exact = Svd.randomized(LinearOperator.of(rankFour), 4, 0,
                    gaussian(Math.min(shape[0], shape[1]), 4));
            assertArrayEquals(new double[] {4, 3, 2, 1}, exact.values(), 1e-10);
            assertArrayEquals(rankFour.data(), product(exact).data(), 1e-10, "rank-4 matrix recovered");

            double[] decaying = new double[Math.min(shape[0], shape[1])];
            for (int i = 0; i < decaying.length; i++) {
                decaying[i] = Math.pow(0.25, i);
            }
            DenseMatrix a = withSpectrum(shape[0], shape[1], decaying, vectors);
            Svd.Result approx = Svd.randomized(LinearOperator.of(a), 3, 4,
                    gaussian(Math.min(shape[0], shape[1]), 3));
            Svd.Result full = Svd.leading(a, 3);
            // The subspace error shrinks as (s4 / s3)^(2 niter + 1) = 0.25^9 ~ 4e-6.
            assertArrayEquals(full.values(), approx.values(), 1e-6, "niter=4 finds the leading values");
            assertArrayEquals(product(full).data(), product(approx).data(), 1e-5, "and the leading subspace");
            Svd.Result none = Svd.randomized(LinearOperator.of(a), 3, 0, gaussian(Math.min(shape[0], shape[1]), 3));
            double worse = 0;
            for (int i = 0; i < a.data().length; i++) {
                worse = Math.max(worse, Math.abs(product(full).data()[i] - product(none).data()[i]));
            }
            assertTrue(worse > 1e-4, "without subspace iterations the approximation is visibly coarser: " + worse);
        }
    }

    @Test
    void rankBeyondTheMatrixIsRefused() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Svd.leading(gaussian(3, 5), 4));
        assertTrue(e.getMessage().contains("at most 3"), e.getMessage());
    }
}

package io.peft4j.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The partial Householder QR against LAPACK: reference values of {@code numpy.linalg.qr} (LAPACK {@code dgeqrf} +
 * {@code dorgqr}, the routines behind {@code torch.linalg.qr}, run with numpy 2.4.6), the sign conventions of
 * {@code dlarfg}, and the identities of a QR decomposition.
 */
class HouseholderQrTest {

    private static DenseMatrix matrix(int rows, int cols, double... values) {
        return new DenseMatrix(rows, cols, values);
    }

    @Test
    void matchesLapackIncludingSigns() {
        // numpy.linalg.qr([[1, 2, 3], [4, 5, 6], [7, 8, 10], [1, 0, 1]])
        HouseholderQr.Result qr = HouseholderQr.leading(matrix(4, 3, 1, 2, 3, 4, 5, 6, 7, 8, 10, 1, 0, 1), 3);
        assertArrayEquals(new double[] {
            -0.12216944, 0.56427649, 0.81229142,
            -0.48867778, 0.23175642, -0.15017152,
            -0.85518611, -0.10076366, -0.10921565,
            -0.12216944, -0.78595654, 0.55290424}, qr.q().data(), 1e-8, "Q");
        assertArrayEquals(new double[] {
            -8.18535277, -9.52921666, -11.97260555,
            0, 1.48122579, 1.28977484,
            0, 0, 0.99659284}, qr.r().data(), 1e-8, "R");
    }

    @Test
    void followsDlarfgWhenNothingIsBelowTheDiagonal() {
        // dlarfg: beta = -sign(alpha) * norm; no reflection (tau = 0, beta = alpha) when the rest is zero.
        HouseholderQr.Result one = HouseholderQr.leading(matrix(2, 1, 3, 4), 1);
        assertArrayEquals(new double[] {-0.6, -0.8}, one.q().data(), 1e-15);
        assertArrayEquals(new double[] {-5}, one.r().data(), 1e-15);
        HouseholderQr.Result none = HouseholderQr.leading(matrix(2, 2, -2, 1, 0, 3), 2);
        assertArrayEquals(new double[] {1, 0, 0, 1}, none.q().data(), 0);
        assertArrayEquals(new double[] {-2, 1, 0, 3}, none.r().data(), 0);
    }

    @Test
    void leadingPartIsThatOfTheFullDecomposition() {
        Random random = new Random(3);
        for (int[] shape : new int[][] {{9, 5}, {5, 9}, {7, 7}}) {
            int m = shape[0];
            int n = shape[1];
            double[] values = new double[m * n];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextGaussian();
            }
            DenseMatrix a = new DenseMatrix(m, n, values);
            int full = Math.min(m, n);
            HouseholderQr.Result all = HouseholderQr.leading(a, full);
            assertArrayEquals(a.data(), all.q().times(all.r()).data(), 1e-12, "Q R = A");
            assertArrayEquals(identity(full), all.q().transpose().times(all.q()).data(), 1e-12, "Q^T Q = I");
            for (int i = 0; i < full; i++) {
                for (int j = 0; j < Math.min(i, n); j++) {
                    assertEquals(0, all.r().get(i, j), "R upper triangular");
                }
            }
            HouseholderQr.Result two = HouseholderQr.leading(a, 2);
            assertArrayEquals(all.q().leadingColumns(2).data(), two.q().data(), 1e-14, "Q[:, :2]");
            assertArrayEquals(all.r().leadingRows(2).data(), two.r().data(), 1e-14, "R[:2]");
        }
    }

    static double[] identity(int n) {
        double[] eye = new double[n * n];
        for (int i = 0; i < n; i++) {
            eye[i * n + i] = 1;
        }
        return eye;
    }
}

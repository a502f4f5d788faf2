package io.peft4j.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LowRankSvdTest {

    private static double[][] random(Random rnd, int rows, int cols) {
        double[][] x = new double[rows][cols];
        for (double[] row : x) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        return x;
    }

    private static double[][] product(double[][] x, double[][] y) {
        double[][] out = new double[x.length][y[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int t = 0; t < y.length; t++) {
                for (int j = 0; j < y[0].length; j++) {
                    out[i][j] += x[i][t] * y[t][j];
                }
            }
        }
        return out;
    }

    @Test
    void fullRankKeepsTheProduct() {
        Random rnd = new Random(3);
        double[][] b = random(rnd, 20, 5);
        double[][] a = random(rnd, 5, 13);
        LowRankSvd.Result r = LowRankSvd.truncated(b, a, 5);
        double[][] expected = product(b, a);
        double[][] actual = product(r.left(), r.right());
        for (int i = 0; i < 20; i++) {
            for (int j = 0; j < 13; j++) {
                assertEquals(expected[i][j], actual[i][j], 1e-9);
            }
        }
        double[][] gram = product(r.right(), transpose(r.right()));
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 5; j++) {
                assertEquals(i == j ? 1 : 0, gram[i][j], 1e-9, "Vh rows are orthonormal");
            }
        }
    }

    @Test
    void truncationKeepsTheLargestSingularValues() {
        // diag(10, 5, 1) embedded: truncating to 2 leaves an error of exactly the third singular value.
        double[][] b = {{10, 0, 0}, {0, 5, 0}, {0, 0, 1}, {0, 0, 0}};
        double[][] a = {{1, 0, 0, 0, 0}, {0, 1, 0, 0, 0}, {0, 0, 1, 0, 0}};
        LowRankSvd.Result r = LowRankSvd.truncated(b, a, 2);
        double[][] approx = product(r.left(), r.right());
        assertEquals(10, approx[0][0], 1e-12);
        assertEquals(5, approx[1][1], 1e-12);
        assertEquals(0, approx[2][2], 1e-12);
    }

    @Test
    void rankDeficientAndPadded() {
        Random rnd = new Random(5);
        double[][] col = random(rnd, 6, 1);
        double[][] b = {{col[0][0], 2 * col[0][0]}, {col[1][0], 2 * col[1][0]}, {col[2][0], 2 * col[2][0]},
            {col[3][0], 2 * col[3][0]}, {col[4][0], 2 * col[4][0]}, {col[5][0], 2 * col[5][0]}};
        double[][] a = random(rnd, 2, 4);
        LowRankSvd.Result r = LowRankSvd.truncated(b, a, 4);
        double[][] expected = product(b, a);
        double[][] actual = product(r.left(), r.right());
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(expected[i][j], actual[i][j], 1e-9);
            }
        }
        assertEquals(4, r.right().length);
    }

    @Test
    void clampUsesTheQuantileOfBothFactors() {
        double[][] left = {{-4, 1}, {2, 3}};
        double[][] right = {{0.5, -0.5}, {8, 1}};
        // values sorted: -4 -0.5 0.5 1 1 2 3 8; quantile 0.75 -> pos 5.25 -> 2 + 0.25 * (3 - 2) = 2.25
        LowRankSvd.clamp(new LowRankSvd.Result(left, right), 0.75);
        assertEquals(-2.25, left[0][0], 1e-12);
        assertEquals(2.25, left[1][1], 1e-12);
        assertEquals(2.25, right[1][0], 1e-12);
        assertTrue(right[0][0] == 0.5);
    }

    private static double[][] transpose(double[][] x) {
        double[][] t = new double[x[0].length][x.length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[0].length; j++) {
                t[j][i] = x[i][j];
            }
        }
        return t;
    }
}

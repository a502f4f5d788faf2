package io.peft4j.linalg;

/**
 * QR decomposition by Householder reflections with LAPACK's conventions ({@code geqrf} + {@code orgqr}, which
 * {@code torch.linalg.qr} and {@code numpy.linalg.qr} call): the reflector of column {@code j} maps it to
 * {@code beta e_j} with {@code beta = -sign(alpha) * ||x||} ({@code alpha} the diagonal entry; {@code dlarfg}), and no
 * reflection at all when the entries below the diagonal are already zero. So the signs of Q's columns and R's rows are
 * LAPACK's, not just some valid choice, and {@code Q[:, :k]}, {@code R[:k]} agree with torch's up to rounding.
 *
 * <p>Only the first {@code k} reflections are computed: {@code Q[:, :k]} and {@code R[:k]} do not depend on the later
 * ones, so OLoRA's rank-r factors of a 4096 x 4096 weight cost {@code O(m n k)} instead of a full decomposition.
 */
public final class HouseholderQr {

    private HouseholderQr() {}

    /**
     * The leading part of {@code a = Q R}.
     *
     * @param a {@code [m, n]}
     * @param k how many columns of Q and rows of R, at most {@code min(m, n)}
     * @return {@code Q[:, :k]} ({@code [m, k]}, orthonormal columns) and {@code R[:k]} ({@code [k, n]}, upper
     *     triangular)
     */
    public static Result leading(DenseMatrix a, int k) {
        int m = a.rows();
        int n = a.cols();
        if (k < 0 || k > Math.min(m, n)) {
            throw new IllegalArgumentException("k=" + k + " is not within [0, min(" + m + ", " + n + ")]");
        }
        // Columns of A as contiguous rows: the reflections work column by column.
        double[][] col = new double[n][m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                col[j][i] = a.data()[i * n + j];
            }
        }
        double[][] v = new double[k][];
        double[] tau = new double[k];
        double[] r = new double[k * n];
        for (int j = 0; j < k; j++) {
            double[] x = col[j];
            double alpha = x[j];
            double xnorm = 0;
            for (int i = j + 1; i < m; i++) {
                xnorm = Math.hypot(xnorm, x[i]);
            }
            double[] vj = new double[m];
            vj[j] = 1;
            double beta;
            if (xnorm == 0) {
                tau[j] = 0;
                beta = alpha;
            } else {
                beta = -Math.copySign(Math.hypot(alpha, xnorm), alpha);
                tau[j] = (beta - alpha) / beta;
                double scale = 1 / (alpha - beta);
                for (int i = j + 1; i < m; i++) {
                    vj[i] = x[i] * scale;
                }
            }
            v[j] = vj;
            r[j * n + j] = beta;
            for (int c = j + 1; c < n; c++) {
                double[] y = col[c];
                if (tau[j] != 0) {
                    double w = y[j];
                    for (int i = j + 1; i < m; i++) {
                        w += vj[i] * y[i];
                    }
                    w *= tau[j];
                    y[j] -= w;
                    for (int i = j + 1; i < m; i++) {
                        y[i] -= w * vj[i];
                    }
                }
                r[j * n + c] = y[j];
            }
        }
        // Q[:, :k] = H_0 ... H_{k-1} applied to the first k columns of the identity, as orgqr.
        double[][] q = new double[k][m];
        for (int c = 0; c < k; c++) {
            q[c][c] = 1;
        }
        for (int j = k - 1; j >= 0; j--) {
            if (tau[j] == 0) {
                continue;
            }
            double[] vj = v[j];
            for (int c = j; c < k; c++) {
                double[] y = q[c];
                double w = 0;
                for (int i = j; i < m; i++) {
                    w += vj[i] * y[i];
                }
                w *= tau[j];
                for (int i = j; i < m; i++) {
                    y[i] -= w * vj[i];
                }
            }
        }
        double[] qData = new double[m * k];
        for (int c = 0; c < k; c++) {
            for (int i = 0; i < m; i++) {
                qData[i * k + c] = q[c][i];
            }
        }
        return new Result(new DenseMatrix(m, k, qData), new DenseMatrix(k, n, r));
    }

    /** The reduced Q of {@code a} ({@code [m, min(m, n)]}), as {@code torch.linalg.qr(a).Q}. */
    public static DenseMatrix q(DenseMatrix a) {
        return leading(a, Math.min(a.rows(), a.cols())).q();
    }

    /**
     * The leading factors of a QR decomposition.
     *
     * @param q {@code Q[:, :k]}, {@code [m, k]}
     * @param r {@code R[:k]}, {@code [k, n]}
     */
    public record Result(DenseMatrix q, DenseMatrix r) {}
}

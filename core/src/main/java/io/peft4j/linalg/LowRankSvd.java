package io.peft4j.linalg;

/**
 * Truncated singular value decomposition of a matrix given as a product of thin factors, {@code M = B @ A} with
 * {@code B: [m, R]}, {@code A: [R, n]} and small {@code R}: QR of both factors, then a Jacobi SVD of the small
 * {@code R x R} core. Exact (up to rounding) and cheap: what PEFT's {@code add_weighted_adapter(..., "svd")} needs for
 * a sum of LoRA deltas, without a dense SVD of the full weight (DJL has none).
 *
 * <p>Singular vectors are unique only up to sign; the product {@link Result#left()} @ {@link Result#right()} is not.
 */
public final class LowRankSvd {

    private LowRankSvd() {}

    /**
     * The rank-{@code k} decomposition of {@code b @ a}.
     *
     * @param b {@code [m][R]}
     * @param a {@code [R][n]}
     * @param k the rank kept; rows/columns beyond the product's rank are zero
     * @return {@code U*S} ({@code [m][k]}) and {@code Vh} ({@code [k][n]})
     */
    public static Result truncated(double[][] b, double[][] a, int k) {
        int m = b.length;
        int r = a.length;
        int n = r == 0 ? 0 : a[0].length;
        double[][] qb = new double[m][r];
        double[][] rb = new double[r][r];
        qr(b, m, r, qb, rb);
        double[][] at = transpose(a, r, n);
        double[][] qa = new double[n][r];
        double[][] ra = new double[r][r];
        qr(at, n, r, qa, ra);
        double[][] core = multiply(rb, transpose(ra, r, r));
        double[][] um = new double[r][r];
        double[][] vm = new double[r][r];
        double[] s = jacobiSvd(core, um, vm);
        Integer[] order = new Integer[r];
        for (int i = 0; i < r; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(s[y], s[x]));
        double[][] left = new double[m][k];
        double[][] right = new double[k][n];
        for (int c = 0; c < Math.min(k, r); c++) {
            int j = order[c];
            for (int i = 0; i < m; i++) {
                double u = 0;
                for (int t = 0; t < r; t++) {
                    u += qb[i][t] * um[t][j];
                }
                left[i][c] = u * s[j];
            }
            for (int i = 0; i < n; i++) {
                double v = 0;
                for (int t = 0; t < r; t++) {
                    v += qa[i][t] * vm[t][j];
                }
                right[c][i] = v;
            }
        }
        return new Result(left, right);
    }

    /**
     * Clamps both factors to {@code [-q, q]} where {@code q} is the {@code quantile} of all their values (torch's
     * linear interpolation), as PEFT's {@code svd_clamp}.
     */
    public static Result clamp(Result result, double quantile) {
        double[][] left = result.left();
        double[][] right = result.right();
        int total = 0;
        for (double[] row : left) {
            total += row.length;
        }
        for (double[] row : right) {
            total += row.length;
        }
        double[] all = new double[total];
        int p = 0;
        for (double[] row : left) {
            for (double v : row) {
                all[p++] = v;
            }
        }
        for (double[] row : right) {
            for (double v : row) {
                all[p++] = v;
            }
        }
        java.util.Arrays.sort(all);
        double pos = quantile * (all.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, all.length - 1);
        double high = all[lo] + (all[hi] - all[lo]) * (pos - lo);
        double low = -high;
        for (double[] row : left) {
            for (int i = 0; i < row.length; i++) {
                row[i] = Math.max(low, Math.min(high, row[i]));
            }
        }
        for (double[] row : right) {
            for (int i = 0; i < row.length; i++) {
                row[i] = Math.max(low, Math.min(high, row[i]));
            }
        }
        return result;
    }

    /** Thin QR by modified Gram-Schmidt with re-orthogonalisation; rank-deficient columns give zero columns. */
    static void qr(double[][] x, int rows, int cols, double[][] q, double[][] r) {
        for (int i = 0; i < rows; i++) {
            System.arraycopy(x[i], 0, q[i], 0, cols);
        }
        double scale = 0;
        for (double[] row : x) {
            for (double v : row) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        double eps = 1e-12 * Math.max(scale, Double.MIN_NORMAL) * Math.max(rows, 1);
        for (int j = 0; j < cols; j++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < j; i++) {
                    double dot = 0;
                    for (int t = 0; t < rows; t++) {
                        dot += q[t][i] * q[t][j];
                    }
                    r[i][j] += dot;
                    for (int t = 0; t < rows; t++) {
                        q[t][j] -= dot * q[t][i];
                    }
                }
            }
            double norm = 0;
            for (int t = 0; t < rows; t++) {
                norm += q[t][j] * q[t][j];
            }
            norm = Math.sqrt(norm);
            if (norm <= eps) {
                r[j][j] = 0;
                for (int t = 0; t < rows; t++) {
                    q[t][j] = 0;
                }
            } else {
                r[j][j] = norm;
                for (int t = 0; t < rows; t++) {
                    q[t][j] /= norm;
                }
            }
        }
    }

    /** One-sided Jacobi SVD of a square matrix: returns singular values, fills {@code u} and {@code v}. */
    static double[] jacobiSvd(double[][] matrix, double[][] u, double[][] v) {
        int n = matrix.length;
        double[][] w = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(matrix[i], 0, w[i], 0, n);
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < n; i++) {
                        alpha += w[i][p] * w[i][p];
                        beta += w[i][q] * w[i][q];
                        gamma += w[i][p] * w[i][q];
                    }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int i = 0; i < n; i++) {
                        double wp = w[i][p];
                        double wq = w[i][q];
                        w[i][p] = c * wp - s * wq;
                        w[i][q] = s * wp + c * wq;
                        double vp = v[i][p];
                        double vq = v[i][q];
                        v[i][p] = c * vp - s * vq;
                        v[i][q] = s * vp + c * vq;
                    }
                }
            }
            if (off < 1e-15) {
                break;
            }
        }
        double[] sigma = new double[n];
        for (int j = 0; j < n; j++) {
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += w[i][j] * w[i][j];
            }
            sigma[j] = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                u[i][j] = sigma[j] == 0 ? 0 : w[i][j] / sigma[j];
            }
        }
        return sigma;
    }

    private static double[][] transpose(double[][] x, int rows, int cols) {
        double[][] t = new double[cols][rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j][i] = x[i][j];
            }
        }
        return t;
    }

    private static double[][] multiply(double[][] x, double[][] y) {
        int n = x.length;
        int k = y.length;
        int m = k == 0 ? 0 : y[0].length;
        double[][] out = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < k; t++) {
                double v = x[i][t];
                for (int j = 0; j < m; j++) {
                    out[i][j] += v * y[t][j];
                }
            }
        }
        return out;
    }

    /**
     * A truncated decomposition.
     *
     * @param left {@code U * diag(S)}, {@code [m][k]}
     * @param right {@code Vh}, {@code [k][n]}
     */
    public record Result(double[][] left, double[][] right) {}
}

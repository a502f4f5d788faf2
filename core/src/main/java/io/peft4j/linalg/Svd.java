package io.peft4j.linalg;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_MT_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * The leading singular triplets of a matrix, as PEFT's PiSSA takes them: all of {@code torch.linalg.svd} (EJML's dense
 * SVD, {@link #leading}) or {@code torch.svd_lowrank}'s randomized approximation ({@link #randomized}).
 *
 * <p>Singular vectors are unique only up to sign (and, for equal singular values, rotation): EJML's signs are not
 * LAPACK's, so {@code left} and {@code right} may differ from torch's by the sign of a column/row pair, while
 * {@code left * diag(s) * right} does not.
 */
public final class Svd {

    private Svd() {}

    /**
     * The {@code k} largest singular values of {@code a} and their vectors, from a full (compact) decomposition, as
     * {@code U[:, :k], S[:k], Vh[:k]} of {@code torch.linalg.svd(a, full_matrices=False)}.
     */
    public static Result leading(DenseMatrix a, int k) {
        int m = a.rows();
        int n = a.cols();
        checkRank(k, m, n);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = m * (long) n >= 256 * 256
                ? DecompositionFactory_MT_DDRM.svd(m, n, true, true, true)
                : DecompositionFactory_DDRM.svd(m, n, true, true, true);
        return decompose(svd, new DMatrixRMaj(m, n, true, a.data().clone()), k);
    }

    /**
     * {@code torch.svd_lowrank(a, q, niter)} (Halko et al. 2009, algorithm 5.1, as torch writes it): a basis of
     * {@code a}'s range from {@code a @ gaussian} refined by {@code niter} subspace iterations with a QR after every
     * product, then the SVD of {@code Q^T a}. A wide {@code a} is handled through its transpose, as torch does.
     *
     * @param a the matrix, through its products
     * @param q the number of triplets
     * @param niter the subspace iterations (torch's default is 2; PEFT's {@code pissa_niter_N} passes N)
     * @param gaussian standard normal values, {@code [min(rows, cols), q]} (torch draws {@code randn(n, q)} for the
     *     tall orientation {@code [m, n]}, m >= n)
     * @return {@code U [rows, q]}, {@code S [q]}, {@code Vh [q, cols]}
     */
    public static Result randomized(LinearOperator a, int q, int niter, DenseMatrix gaussian) {
        checkRank(q, a.rows(), a.cols());
        boolean wide = a.rows() < a.cols();
        LinearOperator tall = wide ? transposed(a) : a;
        if (gaussian.rows() != tall.cols() || gaussian.cols() != q) {
            throw new IllegalArgumentException("the random matrix must be " + tall.cols() + "x" + q + ", got "
                    + gaussian.rows() + "x" + gaussian.cols());
        }
        DenseMatrix basis = HouseholderQr.q(tall.times(gaussian));
        for (int i = 0; i < niter; i++) {
            basis = HouseholderQr.q(tall.transposeTimes(basis));
            basis = HouseholderQr.q(tall.times(basis));
        }
        DenseMatrix projected = tall.transposeTimes(basis).transpose();
        SingularValueDecomposition_F64<DMatrixRMaj> svd =
                DecompositionFactory_DDRM.svd(projected.rows(), projected.cols(), true, true, true);
        Result small = decompose(svd, new DMatrixRMaj(projected.rows(), projected.cols(), true, projected.data()),
                Math.min(q, basis.cols()));
        DenseMatrix u = basis.times(small.left());
        if (wide) {
            return new Result(small.right().transpose(), small.values(), u.transpose());
        }
        return new Result(u, small.values(), small.right());
    }

    private static void checkRank(int k, int m, int n) {
        if (k < 1 || k > Math.min(m, n)) {
            throw new IllegalArgumentException("cannot take " + k + " singular triplets of a " + m + "x" + n
                    + " matrix (at most " + Math.min(m, n) + ")");
        }
    }

    private static LinearOperator transposed(LinearOperator a) {
        return new LinearOperator() {
            @Override
            public int rows() {
                return a.cols();
            }

            @Override
            public int cols() {
                return a.rows();
            }

            @Override
            public DenseMatrix times(DenseMatrix x) {
                return a.transposeTimes(x);
            }

            @Override
            public DenseMatrix transposeTimes(DenseMatrix x) {
                return a.times(x);
            }
        };
    }

    private static Result decompose(SingularValueDecomposition_F64<DMatrixRMaj> svd, DMatrixRMaj matrix, int k) {
        if (!svd.decompose(matrix)) {
            throw new ArithmeticException("the singular value decomposition did not converge");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj vt = svd.getV(null, true);
        SingularOps_DDRM.descendingOrder(u, false, w, vt, true);
        int m = u.numRows;
        int n = vt.numCols;
        double[] left = new double[m * k];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                left[i * k + j] = u.get(i, j);
            }
        }
        double[] right = new double[k * n];
        double[] values = new double[k];
        for (int j = 0; j < k; j++) {
            values[j] = w.get(j, j);
            for (int c = 0; c < n; c++) {
                right[j * n + c] = vt.get(j, c);
            }
        }
        return new Result(new DenseMatrix(m, k, left), values, new DenseMatrix(k, n, right));
    }

    /**
     * Leading singular triplets, largest first.
     *
     * @param left {@code U[:, :k]}, {@code [m, k]}
     * @param values {@code S[:k]}
     * @param right {@code Vh[:k]}, {@code [k, n]}
     */
    public record Result(DenseMatrix left, double[] values, DenseMatrix right) {}
}

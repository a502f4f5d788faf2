package io.peft4j.linalg;

/**
 * A matrix seen only through products, so that the large products of a randomized SVD can run wherever the matrix
 * lives (DJL's engine for a model weight) while the small factorizations run here.
 */
public interface LinearOperator {

    /** The number of rows of the matrix {@code A}. */
    int rows();

    /** The number of columns of {@code A}. */
    int cols();

    /** {@code A @ x} for {@code x: [cols, q]}. */
    DenseMatrix times(DenseMatrix x);

    /** {@code A^T @ x} for {@code x: [rows, q]}. */
    DenseMatrix transposeTimes(DenseMatrix x);

    /** The operator of a dense matrix, computed here. */
    static LinearOperator of(DenseMatrix a) {
        return new LinearOperator() {
            @Override
            public int rows() {
                return a.rows();
            }

            @Override
            public int cols() {
                return a.cols();
            }

            @Override
            public DenseMatrix times(DenseMatrix x) {
                return a.times(x);
            }

            @Override
            public DenseMatrix transposeTimes(DenseMatrix x) {
                return a.transpose().times(x);
            }
        };
    }
}

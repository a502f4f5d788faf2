package io.peft4j.linalg;

/**
 * A dense matrix of doubles in row-major order, the exchange format of this package (EJML's types stay inside it).
 *
 * @param rows the number of rows
 * @param cols the number of columns
 * @param data {@code rows * cols} values, row after row
 */
public record DenseMatrix(int rows, int cols, double[] data) {

    /** Checks the length of {@code data}. */
    public DenseMatrix {
        if (rows < 0 || cols < 0 || data.length != (long) rows * cols) {
            throw new IllegalArgumentException("a " + rows + "x" + cols + " matrix needs " + (long) rows * cols
                    + " values, got " + data.length);
        }
    }

    /** A zero matrix. */
    public static DenseMatrix zeros(int rows, int cols) {
        return new DenseMatrix(rows, cols, new double[rows * cols]);
    }

    /** The matrix of {@code values} (row-major floats, e.g. an {@code NDArray}'s). */
    public static DenseMatrix ofFloats(int rows, int cols, float[] values) {
        double[] data = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            data[i] = values[i];
        }
        return new DenseMatrix(rows, cols, data);
    }

    /** The value at {@code (row, col)}. */
    public double get(int row, int col) {
        return data[row * cols + col];
    }

    /** The values as floats, row-major. */
    public float[] toFloats() {
        float[] out = new float[data.length];
        for (int i = 0; i < data.length; i++) {
            out[i] = (float) data[i];
        }
        return out;
    }

    /** The transpose. */
    public DenseMatrix transpose() {
        double[] t = new double[data.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = data[i * cols + j];
            }
        }
        return new DenseMatrix(cols, rows, t);
    }

    /** {@code this @ other}. */
    public DenseMatrix times(DenseMatrix other) {
        if (cols != other.rows) {
            throw new IllegalArgumentException("cannot multiply " + rows + "x" + cols + " by " + other.rows + "x"
                    + other.cols);
        }
        double[] out = new double[rows * other.cols];
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < cols; t++) {
                double v = data[i * cols + t];
                if (v == 0) {
                    continue;
                }
                int o = t * other.cols;
                int r = i * other.cols;
                for (int j = 0; j < other.cols; j++) {
                    out[r + j] += v * other.data[o + j];
                }
            }
        }
        return new DenseMatrix(rows, other.cols, out);
    }

    /** The first {@code k} columns. */
    public DenseMatrix leadingColumns(int k) {
        double[] out = new double[rows * k];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(data, i * cols, out, i * k, k);
        }
        return new DenseMatrix(rows, k, out);
    }

    /** The first {@code k} rows. */
    public DenseMatrix leadingRows(int k) {
        return new DenseMatrix(k, cols, java.util.Arrays.copyOf(data, k * cols));
    }
}

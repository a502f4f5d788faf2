package io.peft4j.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

/**
 * One batch of rows in, one score vector per row out: the features of {@code rows} rows, each of shape
 * {@code rowShape}, become one array of shape {@code (rows, rowShape...)}; the model's first output, of shape
 * {@code (rows, ...)}, comes back as one flat {@code float[]} per row.
 */
final class RowBatchTranslator implements NoBatchifyTranslator<RowBatchTranslator.Batch, float[][]> {

    /** The features of a batch, row after row, and the shape of one row. */
    record Batch(float[] features, int rows, long[] rowShape) {}

    @Override
    public NDList processInput(TranslatorContext ctx, Batch batch) {
        long[] shape = new long[batch.rowShape().length + 1];
        shape[0] = batch.rows();
        System.arraycopy(batch.rowShape(), 0, shape, 1, batch.rowShape().length);
        return new NDList(ctx.getNDManager().create(batch.features(), new Shape(shape)));
    }

    @Override
    public float[][] processOutput(TranslatorContext ctx, NDList list) {
        NDArray out = list.head();
        int rows = (int) out.getShape().get(0);
        float[] all = out.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        int width = rows == 0 ? 0 : all.length / rows;
        float[][] byRow = new float[rows][];
        for (int i = 0; i < rows; i++) {
            byRow[i] = java.util.Arrays.copyOfRange(all, i * width, (i + 1) * width);
        }
        return byRow;
    }
}

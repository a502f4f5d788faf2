package io.peft4j.spark;

import ai.djl.inference.Predictor;
import io.peft4j.Peft;
import io.peft4j.tuner.AdapterSelection;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The executor side of {@link AdapterScorer}: streams one partition through the executor's model, batch by batch.
 * The model is loaded (once per JVM) when the first row arrives, so empty partitions load nothing.
 */
final class PartitionScorer implements MapPartitionsFunction<Row, Row> {

    private static final long serialVersionUID = 1L;

    private final ModelSource model;
    private final int featuresIndex;
    private final int adapterIndex;
    private final AdapterDirectories adapters;
    private final int batchSize;
    private final long[] rowShape;

    PartitionScorer(ModelSource model, int featuresIndex, int adapterIndex, AdapterDirectories adapters,
            int batchSize, long[] rowShape) {
        this.model = model;
        this.featuresIndex = featuresIndex;
        this.adapterIndex = adapterIndex;
        this.adapters = adapters;
        this.batchSize = batchSize;
        this.rowShape = rowShape;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Iterator<>() {
            private Predictor<RowBatchTranslator.Batch, float[][]> predictor;
            private final List<Row> out = new ArrayList<>();
            private int next;

            @Override
            public boolean hasNext() {
                if (next < out.size()) {
                    return true;
                }
                out.clear();
                next = 0;
                if (!input.hasNext()) {
                    close();
                    return false;
                }
                List<Row> batch = new ArrayList<>(batchSize);
                while (batch.size() < batchSize && input.hasNext()) {
                    batch.add(input.next());
                }
                out.addAll(score(batch, predictor()));
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return out.get(next++);
            }

            private Predictor<RowBatchTranslator.Batch, float[][]> predictor() {
                if (predictor == null) {
                    try {
                        predictor = ExecutorModels.predictor(model);
                    } catch (RuntimeException e) {
                        throw e;
                    } catch (Exception e) {
                        throw new IllegalStateException("cannot load the model of " + model + ": " + e, e);
                    }
                    TaskContext task = TaskContext.get();
                    if (task != null) {   // also when a downstream limit stops reading early
                        task.addTaskCompletionListener((TaskCompletionListener) context -> close());
                    }
                }
                return predictor;
            }

            private void close() {
                if (predictor != null) {
                    predictor.close();
                    predictor = null;
                }
            }
        };
    }

    /** Scores one batch: one forward pass, a mixed batch when its rows name different adapters. */
    List<Row> score(List<Row> batch, Predictor<RowBatchTranslator.Batch, float[][]> predictor) {
        int rows = batch.size();
        long[] shape = rowShape;
        float[] features = null;
        List<String> names = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            Row row = batch.get(i);
            if (row.isNullAt(featuresIndex)) {
                throw new IllegalArgumentException("row " + row + ": its features are null");
            }
            List<Object> values = row.getList(featuresIndex);
            if (features == null) {
                shape = shape == null ? new long[] {values.size()} : shape;
                features = new float[rows * values.size()];
            }
            if (values.size() * rows != features.length) {
                throw new IllegalArgumentException("row " + row + ": " + values.size() + " features, but the batch's"
                        + " first row has " + features.length / rows);
            }
            int offset = i * values.size();
            for (int k = 0; k < values.size(); k++) {
                Object v = values.get(k);
                if (v == null) {
                    throw new IllegalArgumentException("row " + row + ": feature " + k + " is null");
                }
                features[offset + k] = ((Number) v).floatValue();
            }
            names.add(adapterIndex < 0 ? null : AdapterColumn.normalise(row.getString(adapterIndex)));
        }
        float[][] scores;
        RowBatchTranslator.Batch input = new RowBatchTranslator.Batch(features, rows, shape);
        try (AdapterSelection selection = select(names)) {
            scores = predictor.predict(input);
        } catch (ai.djl.translate.TranslateException e) {
            throw new IllegalStateException("scoring a batch of " + rows + " rows failed: " + e.getMessage(), e);
        }
        List<Row> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            Row row = batch.get(i);
            Object[] values = new Object[row.length() + 2];
            for (int c = 0; c < row.length(); c++) {
                values[c] = row.get(c);
            }
            values[row.length()] = scores[i];
            values[row.length() + 1] = argmax(scores[i]);
            out.add(RowFactory.create(values));
        }
        return out;
    }

    /** The batch's adapter selection: none without an adapter column, one adapter, or one per row. */
    private AdapterSelection select(List<String> names) {
        if (adapterIndex < 0) {
            return null;
        }
        List<String> needed = ExecutorModels.adaptersOf(names);
        ExecutorModels.ensureAdapters(model, needed, adapters);
        boolean oneForAll = names.stream().distinct().count() == 1;
        if (oneForAll) {
            return needed.isEmpty() ? Peft.useAdapters() : Peft.useAdapters(needed.get(0));
        }
        return Peft.useAdapterPerRow(names);
    }

    private static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }
}

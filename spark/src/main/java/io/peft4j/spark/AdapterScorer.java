package io.peft4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * Scores a {@code Dataset<Row>} with a DJL model on the executors, each row with the adapter its adapter column names.
 * Each partition streams through {@code mapPartitions}: the executor's model ({@link ExecutorModels}: one per JVM,
 * loaded once, reused by every task), rows in batches of {@link Builder#batchSize} in their partition order, each
 * batch one forward pass — a mixed batch ({@code Peft.useAdapterPerRow}) when its rows name different adapters.
 *
 * <pre>{@code
 * AdapterScorer scorer = AdapterScorer.builder(new DigitsSource("/models/digits"))
 *         .featuresColumn("pixels")                 // array<float> or array<double>
 *         .adapterColumn("adapter")                 // optional; null, "", "none", "__base__": the base model
 *         .adapters(AdapterDirectories.ship(spark.sparkContext(), Map.of("rotated", Path.of("adapters/rotated"))))
 *         .build();
 * Dataset<Row> scored = scorer.score(rows);          // the input columns + scores: array<float>, prediction: int
 * }</pre>
 *
 * Without an adapter column every row runs with the model's active adapters (those the agent activated, or the base
 * model). A row naming an adapter that is neither in the model nor among the adapter directories fails its task with
 * a message naming it. Scoring is deterministic and adapters are read-only, so a task Spark retries (its executor
 * died, say) gives the same rows again.
 */
public final class AdapterScorer implements Serializable {

    private static final long serialVersionUID = 1L;

    private final ModelSource model;
    private final String featuresColumn;
    private final String adapterColumn;
    private final AdapterDirectories adapters;
    private final int batchSize;
    private final long[] rowShape;
    private final String scoresColumn;
    private final String predictionColumn;

    private AdapterScorer(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.featuresColumn = Objects.requireNonNull(b.featuresColumn, "featuresColumn must be set");
        this.adapterColumn = b.adapterColumn;
        this.adapters = b.adapters;
        this.batchSize = b.batchSize;
        this.rowShape = b.rowShape;
        this.scoresColumn = b.scoresColumn;
        this.predictionColumn = b.predictionColumn;
    }

    /**
     * A builder for a scorer of the model {@code model} loads.
     *
     * @param model how each executor loads the model
     * @return the builder
     */
    public static Builder builder(ModelSource model) {
        return new Builder(model);
    }

    /**
     * The scored rows: every input column, then {@code scores} ({@code array<float>}, the model's output for the row)
     * and {@code prediction} ({@code int}, the index of the largest score). Lazy, as any Spark transformation.
     *
     * @param rows the rows to score
     * @return the scored rows, partitioned as {@code rows}
     * @throws IllegalArgumentException naming the column when a column is missing or of the wrong type
     */
    public Dataset<Row> score(Dataset<Row> rows) {
        StructType out = outputSchema(rows.schema());
        StructType in = rows.schema();
        PartitionScorer function = new PartitionScorer(model, in.fieldIndex(featuresColumn),
                adapterColumn == null ? -1 : in.fieldIndex(adapterColumn), adapters, batchSize, rowShape);
        return rows.mapPartitions(function, Encoders.row(out));
    }

    /**
     * The schema {@link #score} returns for input schema {@code input}.
     *
     * @param input the schema of the rows to score
     * @return {@code input} plus the scores and prediction columns
     */
    public StructType outputSchema(StructType input) {
        StructField features = field(input, featuresColumn, "features");
        if (!(features.dataType() instanceof ArrayType array) || !isFloating(array.elementType())) {
            throw new IllegalArgumentException("features column '" + featuresColumn + "' is "
                    + features.dataType().simpleString() + "; expected array<float> or array<double>");
        }
        if (adapterColumn != null) {
            StructField adapter = field(input, adapterColumn, "adapter");
            if (!adapter.dataType().equals(DataTypes.StringType)) {
                throw new IllegalArgumentException("adapter column '" + adapterColumn + "' is "
                        + adapter.dataType().simpleString() + "; expected string");
            }
        }
        for (String name : new String[] {scoresColumn, predictionColumn}) {
            if (Arrays.asList(input.fieldNames()).contains(name)) {
                throw new IllegalArgumentException("output column '" + name + "' is already an input column; "
                        + "rename it or choose another output name");
            }
        }
        return input.add(scoresColumn, DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add(predictionColumn, DataTypes.IntegerType, false);
    }

    private static StructField field(StructType schema, String name, String role) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(role + " column '" + name + "' is not in the rows (columns: "
                    + String.join(", ", schema.fieldNames()) + ")");
        }
        return schema.apply(name);
    }

    private static boolean isFloating(DataType type) {
        return type.equals(DataTypes.FloatType) || type.equals(DataTypes.DoubleType);
    }

    /** Settings of an {@link AdapterScorer}. */
    public static final class Builder {
        private final ModelSource model;
        private String featuresColumn;
        private String adapterColumn;
        private AdapterDirectories adapters = AdapterDirectories.none();
        private int batchSize = 256;
        private long[] rowShape;
        private String scoresColumn = "scores";
        private String predictionColumn = "prediction";

        private Builder(ModelSource model) {
            this.model = model;
        }

        /** The column with each row's model input: {@code array<float>} or {@code array<double>} (required). */
        public Builder featuresColumn(String name) {
            this.featuresColumn = name;
            return this;
        }

        /** The {@code string} column naming each row's adapter; null, empty, {@code none}, {@code __base__}: base. */
        public Builder adapterColumn(String name) {
            this.adapterColumn = name;
            return this;
        }

        /** Where executors load the adapters the model does not already have. */
        public Builder adapters(AdapterDirectories dirs) {
            this.adapters = Objects.requireNonNull(dirs, "adapters");
            return this;
        }

        /** Rows per forward pass (default 256). */
        public Builder batchSize(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("batchSize must be at least 1, got " + rows);
            }
            this.batchSize = rows;
            return this;
        }

        /** The shape of one row's input (default: the features' length), e.g. {@code 1, 28, 28}. */
        public Builder rowShape(long... shape) {
            this.rowShape = shape.clone();
            return this;
        }

        /** The names of the output columns (default {@code scores} and {@code prediction}). */
        public Builder outputColumns(String scores, String prediction) {
            this.scoresColumn = Objects.requireNonNull(scores, "scores");
            this.predictionColumn = Objects.requireNonNull(prediction, "prediction");
            return this;
        }

        /** The scorer. */
        public AdapterScorer build() {
            return new AdapterScorer(this);
        }
    }
}

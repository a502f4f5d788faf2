package io.peft4j.spark;

import ai.djl.Model;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Spark {@code local[2]} session (the executor is this JVM, without the agent: the Java API fallback) scores a few
 * thousand rows whose adapter column mixes two adapters and the base model; every row equals the same row scored alone
 * in a single JVM with its adapter. The adapter directories travel with {@code AdapterDirectories.ship}.
 */
class LocalScoringTest {

    private static final int ROWS = 3000;

    @TempDir
    static Path dir;

    private static SparkSession spark;
    private static SmallModel source;

    @BeforeAll
    static void start() throws Exception {
        source = SmallModel.write(dir);
        spark = SparkSession.builder().master("local[2]").appName("peft4j-local-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.local.dir", dir.resolve("spark-local").toString()).getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static StructType schema() {
        return new StructType().add("id", DataTypes.IntegerType, false)
                .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("adapter", DataTypes.StringType, true);
    }

    @Test
    void mixedAdapterColumnEqualsSingleJvmRowByRow() throws Exception {
        String[] routing = {"rotated", "mirrored", null, "rotated", "none", "mirrored", "__base__", ""};
        Random random = new Random(16);
        List<Row> rows = new ArrayList<>();
        Map<Integer, float[]> features = new HashMap<>();
        Map<Integer, String> adapterOf = new HashMap<>();
        for (int id = 0; id < ROWS; id++) {
            float[] x = SmallModel.features(random);
            // Runs of one adapter and single rows alternate, so batches are mixed in varying proportions.
            String adapter = routing[(id / (1 + id % 3)) % routing.length];
            features.put(id, x);
            adapterOf.put(id, adapter);
            rows.add(RowFactory.create(id, x, adapter));
        }
        Map<String, Path> dirs = new HashMap<>();
        for (String name : SmallModel.ADAPTERS) {
            dirs.put(name, dir.resolve(name));
        }
        AdapterScorer scorer = AdapterScorer.builder(source).featuresColumn("features").adapterColumn("adapter")
                .adapters(AdapterDirectories.ship(spark.sparkContext(), dirs)).batchSize(64).build();
        Dataset<Row> input = spark.createDataFrame(rows, schema()).repartition(4);
        List<Row> scored = scorer.score(input).collectAsList();

        assertEquals(ROWS, scored.size());
        assertEquals(List.of("id", "features", "adapter", "scores", "prediction"),
                Arrays.asList(scorer.score(input).schema().fieldNames()));
        try (Model reference = source.load()) {
            for (String name : SmallModel.ADAPTERS) {
                io.peft4j.Peft.loadAdapter(reference.getBlock(), dir.resolve(name), name);
            }
            int adapted = 0;
            for (Row row : scored) {
                int id = row.getInt(0);
                String adapter = adapterOf.get(id);
                float[] expected = SmallModel.scoreAlone(reference, features.get(id), adapter);
                float[] actual = floats(row.getList(3));
                SmallModel.assertRowClose(expected, actual, "row " + id + " (" + adapter + ")");
                assertEquals(argmax(expected), row.getInt(4), "prediction of row " + id);
                if (!AdapterColumn.isBase(adapter)) {
                    float[] base = SmallModel.scoreAlone(reference, features.get(id), null);
                    assertTrue(maxDiff(base, expected) > 1e-3, "adapter " + adapter + " changes row " + id);
                    adapted++;
                }
            }
            assertTrue(adapted > ROWS / 3, adapted + " adapted rows");
        }
        // No agent in this JVM: the executor side loaded both adapters itself, from the shipped directories.
        assertEquals(Map.of("rotated", ExecutorModels.Origin.LOADED, "mirrored", ExecutorModels.Origin.LOADED),
                ExecutorModels.adapterOrigins(source));
        assertEquals(1, ExecutorModels.loadedModels());
    }

    @Test
    void unknownAdapterFailsTheTaskNamingIt() {
        AdapterScorer scorer = AdapterScorer.builder(source).featuresColumn("features").adapterColumn("adapter")
                .build();
        List<Row> rows = List.of(RowFactory.create(1, SmallModel.features(new Random(1)), "typo"));
        Dataset<Row> input = spark.createDataFrame(rows, schema());
        SparkException e = assertThrows(SparkException.class, () -> scorer.score(input).collectAsList());
        assertTrue(e.getMessage().contains("adapter 'typo' named by a row is neither in the model"), e.getMessage());
    }

    @Test
    void badColumnsAreRefusedOnTheDriverNamingTheColumn() {
        StructType schema = schema();
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> AdapterScorer
                .builder(source).featuresColumn("pixels").build().outputSchema(schema));
        assertEquals("features column 'pixels' is not in the rows (columns: id, features, adapter)",
                missing.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> AdapterScorer
                .builder(source).featuresColumn("adapter").build().outputSchema(schema));
        assertEquals("features column 'adapter' is string; expected array<float> or array<double>", type.getMessage());
        IllegalArgumentException adapter = assertThrows(IllegalArgumentException.class, () -> AdapterScorer
                .builder(source).featuresColumn("features").adapterColumn("id").build().outputSchema(schema));
        assertEquals("adapter column 'id' is int; expected string", adapter.getMessage());
        IllegalArgumentException clash = assertThrows(IllegalArgumentException.class, () -> AdapterScorer
                .builder(source).featuresColumn("features").outputColumns("id", "p").build().outputSchema(schema));
        assertEquals("output column 'id' is already an input column; rename it or choose another output name",
                clash.getMessage());
    }

    static float[] floats(List<Object> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) values.get(i)).floatValue();
        }
        return out;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}

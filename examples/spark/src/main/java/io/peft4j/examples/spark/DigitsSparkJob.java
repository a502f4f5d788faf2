package io.peft4j.examples.spark;

import io.peft4j.examples.CliOptions;
import io.peft4j.examples.DigitSamples;
import io.peft4j.examples.DigitsData;
import io.peft4j.examples.DomainShift;
import io.peft4j.examples.UsageException;
import io.peft4j.spark.AdapterDirectories;
import io.peft4j.spark.AdapterScorer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.when;

/**
 * {@code DigitsSparkJob --base DIR --adapters NAME=DIR,NAME=DIR --out DIR [--master URL] [--partitions N]
 * [--bench ROUNDS]}: scores the digits test set on Spark — every image in three domains (original, rotated 90°,
 * mirrored) with the base model and with each adapter, all in one adapter column, so every batch mixes adapters —
 * and writes the accuracy of each (adapter, domain) pair as a table ({@code OUT/accuracy.md}, also printed) and a
 * Parquet file ({@code OUT/accuracy.parquet}), and checks that each adapter beats the base model in its own domain
 * (exit status 3 if not). {@code --bench} instead times 1 against 2 partitions in paired, alternating rounds.
 * examples/spark-demo.sh runs it; any {@code spark-submit} can too (README, "Running on a cluster").
 */
public final class DigitsSparkJob {

    static final Set<String> OPTIONS = Set.of("--base", "--adapters", "--out", "--master", "--partitions", "--bench");
    static final String BASE = "base";

    private DigitsSparkJob() {}

    public static void main(String[] args) throws Exception {
        CliOptions cli;
        Map<String, Path> adapters;
        try {
            cli = new CliOptions(args, OPTIONS);
            adapters = adapters(cli.require("--adapters"));
        } catch (UsageException e) {
            System.err.println("DigitsSparkJob: " + e.getMessage());
            System.exit(2);
            return;
        }
        Path out = Path.of(cli.require("--out"));
        SparkSession.Builder builder = SparkSession.builder().appName("peft4j digits on Spark");
        String master = cli.get("--master", null);
        if (master != null) {
            builder.master(master);
        } else if (System.getProperty("spark.master") == null) {
            builder.master("local[2]");      // run with plain java: local mode; spark-submit sets spark.master
        }
        SparkSession spark = builder.getOrCreate();
        boolean passed = true;
        try {
            AdapterScorer scorer = AdapterScorer.builder(new DigitsModelSource(cli.require("--base")))
                    .featuresColumn("pixels").adapterColumn("adapter")
                    .adapters(AdapterDirectories.ship(spark.sparkContext(), adapters)).batchSize(128).build();
            Dataset<Row> rows = rows(spark, adapters.keySet());
            int bench = cli.getInt("--bench", 0);
            if (bench > 0) {
                PartitionBench.run(spark, scorer, rows, bench);
            } else {
                passed = accuracy(scorer, rows.repartition(cli.getInt("--partitions", 4)), out);
            }
        } finally {
            spark.stop();
        }
        if (!passed) {
            System.exit(3);
        }
    }

    /** {@code NAME=DIR,NAME=DIR}: the adapters, in order. */
    static Map<String, Path> adapters(String spec) {
        Map<String, Path> adapters = new LinkedHashMap<>();
        for (String item : spec.split(",")) {
            int eq = item.indexOf('=');
            if (eq <= 0 || eq == item.length() - 1) {
                throw new UsageException("--adapters: '" + item + "' is not NAME=DIR");
            }
            Path dir = Path.of(item.substring(eq + 1));
            if (!Files.isRegularFile(dir.resolve("adapter_config.json"))) {
                throw new UsageException("--adapters: " + dir + " has no adapter_config.json");
            }
            adapters.put(item.substring(0, eq), dir);
        }
        return adapters;
    }

    /** Every test image in every domain, once per adapter and once for the base model. */
    static Dataset<Row> rows(SparkSession spark, Set<String> adapters) {
        DigitSamples test = DigitsData.split().test();
        Map<String, DigitSamples> domains = new LinkedHashMap<>();
        domains.put("original", test);
        for (DomainShift shift : DomainShift.values()) {
            domains.put(shift.cliName(), test.shifted(shift));
        }
        List<String> routes = new ArrayList<>();
        routes.add(BASE);
        routes.addAll(adapters);
        List<Row> rows = new ArrayList<>();
        int id = 0;
        for (int i = 0; i < test.size(); i++) {
            for (Map.Entry<String, DigitSamples> domain : domains.entrySet()) {
                for (String route : routes) {
                    String adapter = route.equals(BASE) ? "none" : route;   // "none": the base model, as PEFT
                    rows.add(RowFactory.create(id++, route, domain.getKey(), domain.getValue().labels()[i],
                            domain.getValue().pixels()[i], adapter));
                }
            }
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("model", DataTypes.StringType, false).add("domain", DataTypes.StringType, false)
                .add("label", DataTypes.IntegerType, false)
                .add("pixels", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("adapter", DataTypes.StringType, false);
        return spark.createDataFrame(rows, schema);
    }

    private static boolean accuracy(AdapterScorer scorer, Dataset<Row> rows, Path out) throws IOException {
        long start = System.nanoTime();
        Dataset<Row> table = scorer.score(rows)
                .groupBy("model", "domain")
                .agg(count("*").as("rows"), avg(when(col("prediction").equalTo(col("label")), 1.0).otherwise(0.0))
                        .as("accuracy"))
                .orderBy("model", "domain").cache();
        List<Row> result = table.collectAsList();
        double seconds = (System.nanoTime() - start) / 1e9;
        Files.createDirectories(out);
        table.write().mode("overwrite").parquet(out.resolve("accuracy.parquet").toString());
        StringBuilder md = new StringBuilder("| model | domain | rows | accuracy |\n| --- | --- | ---: | ---: |\n");
        long total = 0;
        for (Row r : result) {
            md.append(String.format(java.util.Locale.ROOT, "| %s | %s | %d | %.4f |%n", r.getString(0), r.getString(1),
                    r.getLong(2), r.getDouble(3)));
            total += r.getLong(2);
        }
        Files.writeString(out.resolve("accuracy.md"), md);
        System.out.print(md);
        System.out.printf(java.util.Locale.ROOT, "%d rows scored in %d partitions in %.1f s; wrote %s and %s%n",
                total, rows.rdd().getNumPartitions(), seconds, out.resolve("accuracy.md"),
                out.resolve("accuracy.parquet"));
        return checks(result);
    }

    /** Each adapter named after a domain must beat the base model there; false (and says so) if one does not. */
    static boolean checks(List<Row> table) {
        Map<String, Double> accuracy = new LinkedHashMap<>();
        for (Row r : table) {
            accuracy.put(r.getString(0) + "/" + r.getString(1), r.getDouble(3));
        }
        boolean ok = true;
        for (DomainShift shift : DomainShift.values()) {
            String domain = shift.cliName();
            Double adapted = accuracy.get(domain + "/" + domain);
            Double base = accuracy.get(BASE + "/" + domain);
            if (adapted == null || base == null) {
                continue;
            }
            boolean better = adapted > base;
            ok &= better;
            System.out.printf(java.util.Locale.ROOT, "check: adapter %s on %s digits %.4f, base model %.4f: %s%n",
                    domain, domain, adapted, base, better ? "PASS" : "FAIL");
        }
        return ok;
    }
}

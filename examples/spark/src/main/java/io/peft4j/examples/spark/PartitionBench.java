package io.peft4j.examples.spark;

import io.peft4j.spark.AdapterScorer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Throughput with 1 against 2 partitions (1 against 2 concurrent tasks on the executor), in paired rounds whose
 * order alternates so that a slow spell of a shared machine hits both sides. The input is cached first, so a round
 * times scoring only. Prints every round, the ratio of each pair and their median.
 */
final class PartitionBench {

    private PartitionBench() {}

    static void run(SparkSession spark, AdapterScorer scorer, Dataset<Row> rows, int rounds) throws Exception {
        Dataset<Row> big = rows;
        for (int i = 0; i < 4; i++) {   // 5x the data set: long enough that a round is mostly scoring
            big = big.union(rows);
        }
        Dataset<Row> one = big.repartition(1).cache();
        Dataset<Row> two = big.repartition(2).cache();
        long n = one.count();
        two.count();
        time(scorer, one);          // warm-up: the model loads, the JIT compiles
        time(scorer, two);
        System.out.printf(Locale.ROOT, "%d rows per run; load average %s%n", n, loadAverage());
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            double t1;
            double t2;
            if (r % 2 == 0) {
                t1 = time(scorer, one);
                t2 = time(scorer, two);
            } else {
                t2 = time(scorer, two);
                t1 = time(scorer, one);
            }
            ratios.add(t1 / t2);
            System.out.printf(Locale.ROOT, "round %d: 1 partition %.2f s (%.0f rows/s), 2 partitions %.2f s"
                    + " (%.0f rows/s), speed-up %.2f%n", r + 1, t1, n / t1, t2, n / t2, t1 / t2);
        }
        ratios.sort(null);
        double median = ratios.size() % 2 == 1 ? ratios.get(ratios.size() / 2)
                : (ratios.get(ratios.size() / 2 - 1) + ratios.get(ratios.size() / 2)) / 2;
        System.out.printf(Locale.ROOT, "median speed-up of 2 partitions over 1: %.2f (%d rounds; load average %s)%n",
                median, rounds, loadAverage());
        System.out.printf(Locale.ROOT, "this JVM (driver and executor in local mode): resident %s MB,"
                + " heap used %d MB%n",
                residentMb(), (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20);
    }

    private static double time(AdapterScorer scorer, Dataset<Row> rows) {
        long start = System.nanoTime();
        scorer.score(rows).selectExpr("sum(prediction)").first();
        return (System.nanoTime() - start) / 1e9;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String residentMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.toString(Long.parseLong(line.replaceAll("\\D", "")) >> 10);
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return "unknown";
    }
}

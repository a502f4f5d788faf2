package io.peft4j.spark;

import ai.djl.Model;
import io.peft4j.Peft;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent on the executors, as on a cluster: Spark's {@code local-cluster[2,1,1024]} mode starts a standalone master
 * and two workers in this JVM, and each worker forks a separate executor JVM with
 * {@code spark.executor.extraJavaOptions=-javaagent:peft4j-agent.jar=adapter.rotated=DIR}. The scorer is given
 * only the other adapter ('mirrored', shipped with {@code AdapterDirectories.ship}): rows naming 'rotated' can only
 * run with it because the agent injected it in the executor. Spark's launcher finds its jars under a Spark home; the
 * Maven-resolved jars of this test's class path are linked into one ({@code SPARK_HOME/jars}), as a Spark distribution
 * lays them out.
 */
class ExecutorAgentTest {

    @TempDir
    static Path dir;

    @Test
    void executorsRunTheAgentAndScoreLikeOneJvm() throws Exception {
        SmallModel source = SmallModel.write(dir);
        Path agentJar = Path.of(System.getProperty("peft4j.agent.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(agentJar), agentJar + " (build the agent module first)");
        // The agent injects 'rotated'; 'mirrored' travels as a broadcast variable and the scorer loads it on each
        // executor from where it wrote the files.
        String agentArgs = "adapter.rotated=" + dir.resolve("rotated");

        SparkSession spark = startCluster(agentJar, agentArgs);
        try {
            Random random = new Random(25);
            List<Row> rows = new ArrayList<>();
            String[] routing = {"rotated", "mirrored", "none"};
            for (int id = 0; id < 600; id++) {
                rows.add(RowFactory.create(id, SmallModel.features(random), routing[id % routing.length]));
            }
            StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                    .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                    .add("adapter", DataTypes.StringType, true);
            // Partition 0 kills its executor JVM half-way, once (after 75 rows, two batches scored): Spark retries
            // the partition on another executor, and the results are the same. (No shuffle before it, so the lost
            // executor takes no map output with it: the retry is of that one task.)
            Dataset<Row> input = spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, 4),
                    schema).mapPartitions(new DieOnce(75, dir.resolve("died").toString()), Encoders.row(schema));
            AdapterDirectories shipped =
                    AdapterDirectories.ship(spark.sparkContext(), Map.of("mirrored", dir.resolve("mirrored")));
            AdapterScorer scorer = AdapterScorer.builder(source).featuresColumn("features").adapterColumn("adapter")
                    .adapters(shipped).batchSize(50).build();
            List<Row> scored = scorer.score(input).collectAsList();
            assertEquals(rows.size(), scored.size());
            assertEquals(rows.size(), scored.stream().map(r -> r.getInt(0)).distinct().count(), "each row once");

            try (Model reference = source.load()) {
                for (String name : SmallModel.ADAPTERS) {
                    Peft.loadAdapter(reference.getBlock(), dir.resolve(name), name);
                }
                for (Row row : scored) {
                    Row in = rows.get(row.getInt(0));
                    float[] expected = SmallModel.scoreAlone(reference, (float[]) in.get(1), in.getString(2));
                    SmallModel.assertRowClose(expected, LocalScoringTest.floats(row.getList(3)),
                            "row " + row.getInt(0) + " (" + in.getString(2) + ") scored on an executor");
                }
            }

            // What each executor JVM says about itself, one line per task.
            List<String> reports = spark.range(0, 8, 1, 8).toDF()
                    .mapPartitions(new ExecutorReport(source), Encoders.STRING()).collectAsList();
            Set<String> pids = new TreeSet<>();
            String driverPid = Long.toString(ProcessHandle.current().pid());
            for (String report : reports) {
                String[] parts = report.split("\\|", -1);
                pids.add(parts[0]);
                assertTrue(parts[1].startsWith("-javaagent:" + agentJar + "="), report);
                // Every executor that scored rows got 'rotated' from the agent (whose MXBean it registered when the
                // model was first used) and loaded the shipped 'mirrored' itself. The executor started to replace
                // the killed one may have scored nothing: no model, no adapters.
                if (!parts[3].equals("{}")) {
                    assertEquals("{rotated=PRESENT, mirrored=LOADED}", parts[3], report);
                    assertEquals("true", parts[2], "the agent's MXBean is registered in the executor: " + report);
                }
            }
            assertFalse(pids.contains(driverPid), "executors are separate JVMs: " + reports);
            assertTrue(reports.stream().anyMatch(r -> r.endsWith("{rotated=PRESENT, mirrored=LOADED}")), "" + reports);
            assertTrue(Files.exists(dir.resolve("died")), "an executor was killed half-way through partition 0");
        } finally {
            spark.stop();
            System.clearProperty("spark.test.home");
            System.clearProperty("spark.testing");
        }
    }

    /**
     * A local-cluster session whose executors start with the agent. The workers run in this JVM and launch executors
     * the way a standalone cluster does: {@code java -cp EXTRA_CLASS_PATH:SPARK_HOME/jars/* EXTRA_JAVA_OPTIONS ...}.
     */
    private static SparkSession startCluster(Path agentJar, String agentArgs) throws Exception {
        Path sparkHome = fakeSparkHome();
        System.setProperty("spark.test.home", sparkHome.toString());
        System.setProperty("spark.testing", "true");
        // The executor class path: this module's classes and the test's (the ModelSource); DJL and Spark are in
        // SPARK_HOME/jars. peft4j itself comes only from the agent jar, which -javaagent appends to the class path, as
        // on a cluster: one copy, its own dependencies relocated.
        List<String> executorClassPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.endsWith("test-classes") || entry.endsWith("spark/target/classes")) {
                executorClassPath.add(entry);
            }
        }
        String javaOptions = "-javaagent:" + agentJar + "=" + agentArgs
                + " -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1";
        return SparkSession.builder().master("local-cluster[2,1,1024]").appName("peft4j-executor-agent-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.local.dir", dir.resolve("spark-local").toString())
                .config("spark.executor.extraClassPath", String.join(File.pathSeparator, executorClassPath))
                .config("spark.executor.extraJavaOptions", javaOptions)
                .getOrCreate();
    }

    /**
     * {@code target/local-cluster}: a Spark home whose {@code jars/} links to the jars of this JVM's class path, as a
     * Spark distribution has them. Kept after the test: {@code work/app-*}{@code /N/stderr} is each executor's log.
     */
    private static Path fakeSparkHome() throws Exception {
        Path home = Path.of("target", "local-cluster").toAbsolutePath();
        if (Files.exists(home)) {
            try (var paths = Files.walk(home)) {   // Files.walk does not follow the links: only they are deleted
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Path jars = Files.createDirectories(home.resolve("jars"));
        Files.writeString(home.resolve("RELEASE"), "Spark jars resolved by Maven, linked for ExecutorAgentTest\n");
        // The launcher's Scala version probe when SPARK_SCALA_VERSION is not set.
        Files.createDirectories(home.resolve("launcher/target/scala-2.13"));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path jar = Path.of(entry);
            String name = jar.getFileName().toString();
            if (name.endsWith(".jar") && !name.startsWith("peft4j-") && !Files.exists(jars.resolve(name))) {
                Files.createSymbolicLink(jars.resolve(name), jar.toAbsolutePath());
            }
        }
        return home;
    }

    /**
     * Passes rows through; partition 0 ends its executor JVM after {@code rows} rows the first time only: whichever
     * JVM creates {@code marker} first (the executors share this machine's file system) dies.
     */
    record DieOnce(int rows, String marker) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            boolean partitionZero = org.apache.spark.TaskContext.get().partitionId() == 0;
            return new Iterator<>() {
                private int seen;

                @Override
                public boolean hasNext() {
                    return input.hasNext();
                }

                @Override
                public Row next() {
                    if (partitionZero && ++seen == rows + 1 && firstTime()) {
                        Runtime.getRuntime().halt(137);   // as the kernel's OOM killer would: no clean-up
                    }
                    return input.next();
                }

                private boolean firstTime() {
                    try {
                        Files.createFile(Path.of(marker));
                        return true;
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }
            };
        }
    }

    /**
     * Runs in an executor: its pid, its -javaagent option, whether the agent's MXBean exists (the agent registers it on
     * a thread of its own after the executor's first forward pass: waited for, up to a minute, when the executor
     * scored rows), adapter origins.
     */
    record ExecutorReport(SmallModel source) implements MapPartitionsFunction<Row, String> {
        @Override
        public Iterator<String> call(Iterator<Row> input) throws Exception {
            String agent = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                    .filter(a -> a.startsWith("-javaagent:")).findFirst().orElse("");
            Map<String, ExecutorModels.Origin> origins = ExecutorModels.adapterOrigins(source);
            javax.management.ObjectName name = new javax.management.ObjectName("io.peft4j:type=Adapters");
            javax.management.MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            java.util.concurrent.CountDownLatch seen = new java.util.concurrent.CountDownLatch(1);
            javax.management.NotificationListener listener = (n, handback) -> {
                if (n instanceof javax.management.MBeanServerNotification registration
                        && name.equals(registration.getMBeanName())) {
                    seen.countDown();
                }
            };
            server.addNotificationListener(javax.management.MBeanServerDelegate.DELEGATE_NAME, listener, null, null);
            try {
                if (!agent.isEmpty() && !origins.isEmpty() && !server.isRegistered(name)) {
                    seen.await(60, java.util.concurrent.TimeUnit.SECONDS);
                }
            } finally {
                server.removeNotificationListener(javax.management.MBeanServerDelegate.DELEGATE_NAME, listener);
            }
            boolean mbean = server.isRegistered(name);
            return List.of(ProcessHandle.current().pid() + "|" + agent + "|" + mbean + "|" + origins).iterator();
        }
    }
}

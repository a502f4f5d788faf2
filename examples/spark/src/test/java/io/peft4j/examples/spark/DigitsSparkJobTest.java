package io.peft4j.examples.spark;

import io.peft4j.examples.UsageException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spark job's option parsing and acceptance checks (no Spark session: examples/spark-demo.sh runs the job). */
class DigitsSparkJobTest {

    @TempDir
    Path dir;

    @Test
    void adaptersOptionNamesEachDirectoryInOrder() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Files.writeString(a.resolve("adapter_config.json"), "{}");
        Path b = Files.createDirectories(dir.resolve("b"));
        Files.writeString(b.resolve("adapter_config.json"), "{}");
        assertEquals(List.of(Map.entry("rotate90", a), Map.entry("mirror", b)),
                List.copyOf(DigitsSparkJob.adapters("rotate90=" + a + ",mirror=" + b).entrySet()));
        assertEquals("--adapters: 'rotate90' is not NAME=DIR",
                assertThrows(UsageException.class, () -> DigitsSparkJob.adapters("rotate90")).getMessage());
        assertEquals("--adapters: " + dir + " has no adapter_config.json",
                assertThrows(UsageException.class, () -> DigitsSparkJob.adapters("x=" + dir)).getMessage());
    }

    private static Row row(String model, String domain, double accuracy) {
        return RowFactory.create(model, domain, 450L, accuracy);
    }

    @Test
    void eachAdapterMustBeatTheBaseModelInItsOwnDomain() {
        List<Row> good = List.of(row("base", "rotate90", 0.09), row("rotate90", "rotate90", 0.95),
                row("base", "mirror", 0.36), row("mirror", "mirror", 0.97), row("mirror", "rotate90", 0.01));
        assertTrue(DigitsSparkJob.checks(good));
        List<Row> bad = List.of(row("base", "rotate90", 0.09), row("rotate90", "rotate90", 0.95),
                row("base", "mirror", 0.36), row("mirror", "mirror", 0.36));
        assertFalse(DigitsSparkJob.checks(bad));
    }
}

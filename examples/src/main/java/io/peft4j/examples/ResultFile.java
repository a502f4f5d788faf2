package io.peft4j.examples;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A step's results as {@code key=value} lines, sorted by key: what the demo's driver ({@code io.peft4j.examples.demo})
 * and the tests read.
 */
public final class ResultFile {

    private ResultFile() {}

    /**
     * Writes the values.
     *
     * @param file the file to (over)write
     * @param values the results
     * @throws IOException if writing fails
     */
    public static void write(Path file, Map<String, ?> values) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, ?> e : new TreeMap<>(values).entrySet()) {
            text.append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            writer.write(text.toString());
        }
    }

    /**
     * Reads a file {@link #write} wrote.
     *
     * @param file the file
     * @return its values
     * @throws IOException if reading fails
     */
    public static Properties read(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        return properties;
    }

    /** Seconds since this JVM started, for the {@code jvm_seconds} result of a step: start-up, loading and work. */
    static double jvmSeconds() {
        return ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0;
    }
}

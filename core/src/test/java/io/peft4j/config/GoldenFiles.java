package io.peft4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Locates the golden files made by the real PEFT 0.20.0 (see golden/README.txt). */
public final class GoldenFiles {

    private GoldenFiles() {}

    /** The golden directory: system property {@code peft4j.golden.dir}, set by surefire. */
    public static Path dir() {
        return Path.of(System.getProperty("peft4j.golden.dir", "src/test/resources/golden"));
    }

    /** Every {@code adapter_config.json} PEFT wrote, including {@code g_two_adapters/default} and {@code /other}. */
    public static List<Path> adapterConfigs() {
        try (Stream<Path> files = Files.walk(dir())) {
            return files.filter(p -> p.getFileName().toString().equals("adapter_config.json")).sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a golden JSON file with plain Jackson, independently of the code under test. */
    public static JsonNode json(String relativePath) {
        try {
            return new ObjectMapper().readTree(dir().resolve(relativePath).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a golden file as text. */
    public static String text(String relativePath) {
        try {
            return Files.readString(dir().resolve(relativePath));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

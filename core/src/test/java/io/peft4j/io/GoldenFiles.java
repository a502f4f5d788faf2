package io.peft4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Locates the golden files written by Python PEFT 0.20.0 / safetensors 0.7. */
final class GoldenFiles {
    private GoldenFiles() {}

    /** The golden directory: system property {@code peft4j.golden.dir}, else the source tree. */
    static Path dir() {
        return Paths.get(System.getProperty("peft4j.golden.dir", "src/test/resources/golden"));
    }

    /** One golden file by its path relative to the golden directory. */
    static Path file(String relative) {
        return dir().resolve(relative);
    }

    /** Every {@code *.safetensors} file under the golden directory, sorted. */
    static List<Path> allSafetensors() {
        try (Stream<Path> files = Files.walk(dir())) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

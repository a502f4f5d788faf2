package io.peft4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** One line width, 120 characters (as in {@code .editorconfig}), in the Java sources of the engine's modules. */
class SourceWidthTest {

    private static final int WIDTH = 120;
    private static final List<String> MODULES =
            List.of("core", "agent", "test-models", "integration-tests", "spark", "examples/spark");

    @Test
    void noJavaLineIsWiderThan120Characters() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<String> wide = new ArrayList<>();
        int files = 0;
        for (String module : MODULES) {
            Path src = root.resolve(module).resolve("src");
            assertTrue(Files.isDirectory(src), src + " not found");
            List<Path> sources;
            try (Stream<Path> walk = Files.walk(src)) {
                sources = walk.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
            }
            for (Path file : sources) {
                files++;
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).length() > WIDTH) {
                        wide.add(root.relativize(file) + ":" + (i + 1) + " (" + lines.get(i).length() + ")");
                    }
                }
            }
        }
        assertTrue(files > 100, "only " + files + " sources found under " + root);
        assertEquals(List.of(), wide, "lines wider than " + WIDTH);
    }
}

package io.peft4j.agent.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code agent/OPTIONS.md} and the README show exactly the table {@link OptionKey} defines. */
class OptionsTableTest {

    @ParameterizedTest
    @ValueSource(strings = {"OPTIONS.md", "../README.md"})
    void documentEmbedsTheGeneratedTable(String file) throws IOException {
        Path doc = Path.of(file);
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        String table = OptionKey.markdownTable();
        assertTrue(text.contains(table), () -> doc.toAbsolutePath().normalize() + " does not contain the current"
                + " options table; replace its table with:\n" + table);
    }
}

package io.peft4j.agent.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code agent/OPTIONS.md} shows exactly the table {@link OptionKey} defines. */
class OptionsTableTest {

    @Test
    void optionsMarkdownEmbedsTheGeneratedTable() throws IOException {
        Path doc = Path.of("OPTIONS.md");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        String table = OptionKey.markdownTable();
        assertTrue(text.contains(table), () -> doc.toAbsolutePath() + " does not contain the current options table;"
                + " replace its table with:\n" + table);
    }
}

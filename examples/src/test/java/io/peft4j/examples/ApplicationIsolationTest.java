package io.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The demo's claim: the application ({@code io.peft4j.examples}) never references peft4j, nor the demo's driver
 * ({@code io.peft4j.examples.demo}, which does). Read from the compiled classes, whose constant pools name every
 * class they use, however it is written in the source.
 */
class ApplicationIsolationTest {

    private static final Pattern PEFT4J_CLASS = Pattern.compile("io/peft4j/[A-Za-z0-9_/$]+");
    private static final Pattern OWN_PACKAGE = Pattern.compile("io/peft4j/examples/[A-Za-z0-9_$]+");

    @Test
    void applicationClassesUseNoPeft4jClassOutsideTheirOwnPackage() throws Exception {
        Path classes = Path.of(System.getProperty("peft4j.examples.classes"), "io", "peft4j", "examples");
        List<Path> files;
        try (Stream<Path> list = Files.list(classes)) {
            files = list.filter(f -> f.toString().endsWith(".class")).toList();
        }
        assertTrue(files.size() > 10, "application classes in " + classes);
        Set<String> foreign = new TreeSet<>();
        for (Path file : files) {
            Matcher matcher = PEFT4J_CLASS.matcher(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1));
            while (matcher.find()) {
                if (!OWN_PACKAGE.matcher(matcher.group()).matches()) {
                    foreign.add(file.getFileName() + " -> " + matcher.group());
                }
            }
        }
        assertEquals(Set.of(), foreign);
    }
}

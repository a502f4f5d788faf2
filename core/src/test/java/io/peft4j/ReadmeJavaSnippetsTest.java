package io.peft4j;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code java} block of the README compiles as printed, imports included, against DJL and peft4j-core: a
 * newcomer can paste it. (When a class moves, this test names the block to fix.)
 */
class ReadmeJavaSnippetsTest {

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern TYPE =
            Pattern.compile("(?m)^(?:public |final |abstract )*(?:class|interface|record|enum) (\\w+)");
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package ([\\w.]+);");

    @Test
    void everyJavaBlockCompiles(@TempDir Path tmp) throws IOException {
        String readme = Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8);
        List<String> blocks = new ArrayList<>();
        Matcher m = JAVA_BLOCK.matcher(readme);
        while (m.find()) {
            blocks.add(m.group(1));
        }
        assertTrue(blocks.size() >= 3, () -> "java blocks in README.md: " + blocks.size());
        // One compilation (javac's start and the class path's jars are the cost), one source root per block: a
        // message names the block in its path (block3/...).
        List<File> sources = new ArrayList<>();
        Set<String> types = new HashSet<>();
        for (int i = 0; i < blocks.size(); i++) {
            String block = blocks.get(i);
            Matcher type = TYPE.matcher(block);
            assertTrue(type.find(), "README java block " + (i + 1) + " declares no class:\n" + block);
            Matcher pkg = PACKAGE.matcher(block);
            String name = (pkg.find() ? pkg.group(1) + "." : "") + type.group(1);
            assertTrue(types.add(name), "two README java blocks declare " + name);
            Path source = tmp.resolve("block" + (i + 1)).resolve(name.replace('.', '/') + ".java");
            Files.createDirectories(source.getParent());
            Files.writeString(source, block, StandardCharsets.UTF_8);
            sources.add(source.toFile());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK is needed to compile the README's snippets");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        StringWriter messages = new StringWriter();
        boolean ok = javac.getTask(messages, null, null,
                List.of("--release", "17", "-proc:none", "-encoding", "UTF-8", "-cp", classpath, "-d",
                        Files.createDirectories(tmp.resolve("classes")).toString()),
                null, javac.getStandardFileManager(null, null, null).getJavaFileObjects(sources.toArray(new File[0])))
                .call();
        assertTrue(ok, () -> "README java blocks do not compile (blockN = the N-th java block):\n" + messages);
    }
}

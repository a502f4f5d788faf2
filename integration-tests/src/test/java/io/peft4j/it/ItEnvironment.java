package io.peft4j.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where the artifacts under test are: the agent jar, the golden PEFT data, the test-models application classpath and
 * a scratch directory per test. Everything comes from system properties set by the module's surefire configuration.
 */
public final class ItEnvironment {

    /** Package of the DJL applications in test-models. */
    static final String APPS = "io.peft4j.testmodels.";

    private ItEnvironment() {}

    /** The shaded agent jar ({@code agent/target/peft4j-agent.jar}). */
    public static Path agentJar() {
        return existing("peft4j.agent.jar");
    }

    /** The directory of the PEFT 0.20.0 golden cases. */
    static Path goldenDir() {
        return existing("peft4j.golden.dir");
    }

    /**
     * One golden case directory, e.g. {@code b1_lora_mlp}, or an edge case of {@code golden-edge} beside it, e.g.
     * {@code h8_dora_conv2d}.
     */
    public static Path goldenCase(String name) {
        Path dir = goldenDir().resolve(name);
        if (!Files.isDirectory(dir)) {
            Path edge = goldenDir().resolveSibling("golden-edge").resolve(name);
            if (Files.isDirectory(edge)) {
                return edge;
            }
            throw new IllegalStateException("golden case " + dir + " does not exist (nor " + edge + ")");
        }
        return dir;
    }

    /** One edge-case directory of the PEFT 0.20.0 golden data, e.g. {@code t1_gpt_conv1d_fan_in_fan_out}. */
    public static Path goldenEdgeCase(String name) {
        Path dir = existing("peft4j.golden.edge.dir").resolve(name);
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("golden edge case " + dir + " does not exist");
        }
        return dir;
    }

    /**
     * The classpath of a user's application: test-models' classes plus DJL and PyTorch, never the agent.
     *
     * @return a {@code java -cp} value
     */
    static String applicationClasspath() {
        Path classes = existing("peft4j.testmodels.classes");
        Path file = existing("peft4j.testmodels.classpath.file");
        try {
            String deps = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (deps.isEmpty()) {
                throw new IllegalStateException(file + " is empty");
            }
            if (deps.contains("peft4j-agent") || deps.contains("peft4j-core")) {
                throw new IllegalStateException(file + " must not contain peft4j jars: " + deps);
            }
            return classes + java.io.File.pathSeparator + deps;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A forked JVM that runs one of the test-models applications as a user would: its classpath, no agent yet.
     *
     * @param simpleName the main class's simple name, e.g. {@code GoldenApp}
     * @return a new builder
     */
    static ForkedJvm application(String simpleName) {
        return new ForkedJvm(APPS + simpleName).classpath(applicationClasspath());
    }

    /**
     * A fresh, empty scratch directory for one test under {@code target/it-work}; whatever an earlier run left there
     * is deleted first, so no assertion can be satisfied by a stale file.
     *
     * @param name a name unique to the test
     * @return the directory
     */
    public static Path freshWorkDir(String name) {
        Path root = Paths.get(System.getProperty("peft4j.it.work",
                System.getProperty("java.io.tmpdir") + "/peft4j-it"));
        Path dir = root.resolve(name).toAbsolutePath().normalize();
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                        Files.delete(p);
                    }
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The existing file or directory named by system property {@code property}. */
    public static Path existing(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set (run through Maven)");
        }
        Path path = Paths.get(value).toAbsolutePath().normalize();
        if (!Files.exists(path)) {
            throw new IllegalStateException(property + "=" + path + " does not exist (build the reactor first)");
        }
        return path;
    }
}

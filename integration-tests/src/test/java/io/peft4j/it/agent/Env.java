package io.peft4j.it.agent;

import io.peft4j.it.ItEnvironment;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Where the artifacts under test are (from the surefire system properties of the module), and the test applications
 * of this package: plain DJL programs that never reference peft4j, compiled at test time from
 * {@code src/test/resources/io/peft4j/it/agent/apps/} against the user application class path (test-models plus
 * DJL), plus whatever extra jars (other Byte Buddy, Jackson, SLF4J versions) the application ships.
 */
final class Env {

    /** Package of this package's test applications. */
    static final String APPS = "io.peft4j.it.agent.apps.";

    private static final Map<String, Path> COMPILED = new ConcurrentHashMap<>();

    private Env() {}

    /** The shaded agent jar. */
    static Path agentJar() {
        return ItEnvironment.agentJar();
    }

    /** One golden case directory, e.g. {@code g_two_adapters}. */
    static Path goldenCase(String name) {
        return ItEnvironment.goldenCase(name);
    }

    /** The jars of the user application class path (DJL, PyTorch, slf4j-api, gson), never a peft4j jar. */
    static List<String> applicationJars() {
        Path file = existing("peft4j.testmodels.classpath.file");
        try {
            List<String> jars = new ArrayList<>();
            for (String entry : Files.readString(file, StandardCharsets.UTF_8).trim().split(File.pathSeparator)) {
                if (entry.contains("peft4j-agent") || entry.contains("peft4j-core")) {
                    throw new IllegalStateException(file + " must not contain peft4j jars: " + entry);
                }
                jars.add(entry);
            }
            return jars;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test-models classes directory. */
    static Path testModelClasses() {
        return existing("peft4j.testmodels.classes");
    }

    /** A jar from the local Maven repository ({@code group:artifact:version}), which must exist (offline). */
    static Path mavenJar(String coordinates) {
        String[] p = coordinates.split(":");
        Path jar = Paths.get(System.getProperty("user.home"), ".m2", "repository")
                .resolve(p[0].replace('.', '/')).resolve(p[1]).resolve(p[2]).resolve(p[1] + "-" + p[2] + ".jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(coordinates + " is not in the local Maven repository (" + jar + ")");
        }
        return jar;
    }

    /**
     * The class path of test application {@code simpleName} compiled against the application class path with
     * {@code extraJars} first (so they also win at run time).
     *
     * @param simpleName the class in {@value #APPS}
     * @param replace application jars whose file name starts with one of these are left out (e.g. "slf4j-api")
     * @param extraJars jars the application ships
     * @return a {@code -cp} value
     */
    static String appClasspath(String simpleName, List<String> replace, List<Path> extraJars) {
        List<String> cp = new ArrayList<>();
        for (Path jar : extraJars) {
            cp.add(jar.toString());
        }
        cp.add(testModelClasses().toString());
        for (String jar : applicationJars()) {
            String fileName = Paths.get(jar).getFileName().toString();
            if (replace.stream().noneMatch(fileName::startsWith)) {
                cp.add(jar);
            }
        }
        String classpath = String.join(File.pathSeparator, cp);
        Path classes = COMPILED.computeIfAbsent(simpleName + "|" + classpath, k -> compile(simpleName, classpath));
        return classes + File.pathSeparator + classpath;
    }

    private static Path compile(String simpleName, String classpath) {
        String resource = "/" + APPS.replace('.', '/') + simpleName + ".java";
        URL url = Env.class.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("test application source " + resource + " is not on the test classpath");
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("the agent integration tests need a JDK (javax.tools) to compile "
                    + simpleName);
        }
        try {
            Path source = Paths.get(url.toURI());
            Path classes =
                    freshDir("agent/apps-classes/" + simpleName + "-" + Integer.toHexString(classpath.hashCode()));
            StringWriter messages = new StringWriter();
            List<String> options = List.of("--release", "17", "-proc:none", "-encoding", "UTF-8", "-cp", classpath,
                    "-d", classes.toString());
            boolean ok = javac.getTask(messages, null, null, options, null,
                    javac.getStandardFileManager(null, null, null).getJavaFileObjects(source.toFile())).call();
            if (!ok) {
                throw new AssertionError("cannot compile test application " + source + ":\n" + messages);
            }
            return classes;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fresh, empty scratch directory under {@code target/it-work}. */
    static Path freshDir(String name) {
        return ItEnvironment.freshWorkDir(name);
    }

    private static Path existing(String property) {
        return ItEnvironment.existing(property);
    }
}

package io.peft4j.it;

import java.io.StringWriter;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Applications written for one integration test when no test-models application does what it needs. Their sources
 * live under {@code src/test/resources/apps/} (this module's test classpath has neither DJL nor peft4j, so they are
 * not compiled with the tests): each is compiled once per test JVM with the JDK's compiler against the user
 * application classpath (test-models classes plus DJL) into its own directory under {@code target/it-work}, and runs
 * with ONLY that directory plus the application classpath, never a peft4j jar.
 */
final class TestApps {

    private static final Map<String, Path> COMPILED = new ConcurrentHashMap<>();

    private TestApps() {}

    /**
     * A forked JVM running the test application {@code className} (compiled on first use), no agent yet.
     *
     * @param className the fully qualified class name, e.g. {@code io.peft4j.itapps.LoadedModelTrainApp}
     * @return a new builder
     */
    static ForkedJvm application(String className) {
        Path classes = COMPILED.computeIfAbsent(className, TestApps::compile);
        return new ForkedJvm(className)
                .classpath(classes + java.io.File.pathSeparator + ItEnvironment.applicationClasspath());
    }

    private static Path compile(String className) {
        String resource = "/apps/" + className.replace('.', '/') + ".java";
        URL url = TestApps.class.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("test application source " + resource + " is not on the test classpath");
        }
        try {
            return compile(Paths.get(url.toURI()), className,
                    ItEnvironment.freshWorkDir("apps-classes/" + className));
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad resource URL " + url, e);
        }
    }

    /**
     * Compiles one application source against the user application classpath (DJL, test-models, no peft4j).
     *
     * @param source the {@code .java} file
     * @param className the fully qualified class it must produce
     * @param classes the output directory
     * @return {@code classes}
     * @throws AssertionError if it does not compile
     */
    static Path compile(Path source, String className, Path classes) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no Java compiler in " + System.getProperty("java.home")
                    + " (the integration tests need a JDK to compile " + className + ")");
        }
        StringWriter messages = new StringWriter();
        List<String> options = List.of("--release", "17", "-proc:none", "-encoding", "UTF-8",
                "-cp", ItEnvironment.applicationClasspath(), "-d", classes.toString());
        boolean ok = javac.getTask(messages, null, null, options, null,
                javac.getStandardFileManager(null, null, null).getJavaFileObjects(source.toFile())).call();
        if (!ok) {
            throw new AssertionError("cannot compile application " + source + ":\n" + messages);
        }
        if (!Files.isRegularFile(classes.resolve(className.replace('.', '/') + ".class"))) {
            throw new AssertionError("compiling " + source + " produced no " + className + " class in " + classes);
        }
        return classes;
    }
}

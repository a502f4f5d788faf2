package io.peft4j.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Builds and runs one child JVM the way a user launches an application: the current {@code java}, an explicit
 * classpath, {@code -Dai.djl.offline=true}, optionally {@code -javaagent:}. Standard output and error go to files in
 * the run's directory; the run is killed (with its descendants) when it exceeds its timeout. The child inherits no
 * JVM options from the environment ({@code JAVA_TOOL_OPTIONS} and friends are removed).
 */
final class ForkedJvm {

    /** Default limit for one run. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(3);

    private static final List<String> SCRUBBED_ENV =
            List.of("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH");

    private final String mainClass;
    private String classpath;
    private String agent;
    private final Map<String, String> systemProperties = new LinkedHashMap<>();
    private final List<String> args = new ArrayList<>();
    private Duration timeout = DEFAULT_TIMEOUT;

    /**
     * Starts a builder for {@code mainClass}.
     *
     * @param mainClass the fully qualified main class
     */
    ForkedJvm(String mainClass) {
        this.mainClass = mainClass;
        systemProperties.put("ai.djl.offline", "true");
    }

    /** Sets the {@code -cp} value. */
    ForkedJvm classpath(String value) {
        this.classpath = value;
        return this;
    }

    /**
     * Adds {@code -javaagent:<jar>[=<options>]}.
     *
     * @param jar the agent jar
     * @param options the agent arguments, or null for none
     */
    ForkedJvm javaagent(Path jar, String options) {
        this.agent = "-javaagent:" + jar + (options == null || options.isEmpty() ? "" : "=" + options);
        return this;
    }

    /** Adds {@code -Dkey=value}. */
    ForkedJvm systemProperty(String key, String value) {
        systemProperties.put(key, value);
        return this;
    }

    /** Appends program arguments. */
    ForkedJvm args(Object... values) {
        for (Object v : values) {
            args.add(String.valueOf(v));
        }
        return this;
    }

    /** Overrides the timeout. */
    ForkedJvm timeout(Duration value) {
        this.timeout = value;
        return this;
    }

    /** The full command line. */
    List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        systemProperties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        if (agent != null) {
            cmd.add(agent);
        }
        if (classpath != null) {
            cmd.add("-cp");
            cmd.add(classpath);
        }
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs the JVM to completion.
     *
     * @param runDir the directory for {@code <name>.stdout.txt}, {@code <name>.stderr.txt} and the working directory
     * @param name the run's name
     * @return the finished run
     * @throws AssertionError if the run times out (after killing it)
     */
    Result run(Path runDir, String name) {
        List<String> cmd = command();
        try {
            Files.createDirectories(runDir);
            Path out = runDir.resolve(name + ".stdout.txt");
            Path err = runDir.resolve(name + ".stderr.txt");
            Files.writeString(runDir.resolve(name + ".command.txt"), String.join(" ", cmd) + "\n",
                    StandardCharsets.UTF_8);
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(runDir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
            SCRUBBED_ENV.forEach(pb.environment()::remove);
            long start = System.nanoTime();
            Process process = pb.start();
            boolean finished;
            try {
                finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                kill(process);
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + name, e);
            }
            if (!finished) {
                kill(process);
                throw new AssertionError("run '" + name + "' timed out after " + timeout + " and was killed\n"
                        + "command: " + String.join(" ", cmd) + "\nstdout: " + tail(read(out)) + "\nstderr: "
                        + tail(read(err)));
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            return new Result(name, cmd, process.exitValue(), read(out), read(err), took, runDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        }
    }

    private static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String javaExecutable() {
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        if (Files.isExecutable(java)) {
            return java.toString();
        }
        return ProcessHandle.current().info().command()
                .orElseThrow(() -> new IllegalStateException("cannot find the java executable"));
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }

    private static String tail(String text) {
        int max = 6000;
        return text.length() <= max ? text : "..." + text.substring(text.length() - max);
    }

    /**
     * A finished run.
     *
     * @param name the run's name
     * @param command the command line
     * @param exitCode the exit status
     * @param stdout everything written to standard output
     * @param stderr everything written to standard error
     * @param duration the wall time
     * @param runDir the directory holding the run's command and output files
     */
    record Result(String name, List<String> command, int exitCode, String stdout, String stderr, Duration duration,
            Path runDir) {

        /** Standard output and error together (stdout first). */
        String output() {
            return stdout + "\n" + stderr;
        }

        /** A description for assertion messages: command, exit status and the tail of both streams. */
        String describe() {
            return "run '" + name + "' (" + duration.toMillis() + " ms, files " + runDir.resolve(name)
                    + ".{command,stdout,stderr}.txt)\ncommand: " + shortCommand() + "\nexit status: " + exitCode
                    + "\n--- stdout ---\n" + tail(stdout) + "\n--- stderr ---\n" + tail(stderr);
        }

        /** The command line with the (long) {@code -cp} value abbreviated. */
        String shortCommand() {
            List<String> copy = new ArrayList<>(command);
            int cp = copy.indexOf("-cp");
            if (cp >= 0 && cp + 1 < copy.size()) {
                copy.set(cp + 1, "<application classpath>");
            }
            return String.join(" ", copy);
        }

        @Override
        public String toString() {
            return describe();
        }

        /** The command line as a list (copy). */
        @Override
        public List<String> command() {
            return List.copyOf(command);
        }
    }
}

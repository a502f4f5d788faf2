package io.peft4j.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Launches a benchmark helper ({@link FirstForwardApp}, {@link TrainStateProbe}, {@link EngineInfo}) in a fresh JVM
 * of a given kind; {@link #run} also runs the Python reference ({@link PythonReference}).
 */
final class ChildJvm {

    /** What one run printed and when. */
    record Run(List<String> lines, long markNanos, int exitCode) {}

    private final String java;
    private final Path benchJar;
    private final List<String> commonArgs;

    ChildJvm(String java, Path benchJar, List<String> commonArgs) {
        this.java = java;
        this.benchJar = benchJar;
        this.commonArgs = commonArgs;
    }

    /** The command for a JVM of {@code kind} running {@code mainClass}. */
    List<String> command(Jvm kind, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(commonArgs);
        String cp = benchJar.toString();
        if (kind == Jvm.API) {
            cp += File.pathSeparator + Path.of("benchmarks", "target", "peft4j-core-lib").toAbsolutePath() + "/*";
        }
        if (kind == Jvm.AGENT) {
            cmd.add(Setups.AGENT_LORA);
        }
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Runs {@code command}, returning its standard output lines and the nanoseconds from just before the process
     * was started until {@code mark} appeared on its standard output (-1 if it never did). Standard error goes to
     * {@code errLog}.
     */
    static Run run(List<String> command, String mark, Path errLog) {
        return run(command, mark, errLog, Map.of());
    }

    /** {@link #run(List, String, Path)} with {@code env} added to the environment (e.g. a Python child's threads). */
    static Run run(List<String> command, String mark, Path errLog, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(errLog.toFile());
        pb.environment().putAll(env);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        List<String> lines = new ArrayList<>();
        long markAt = -1;
        try {
            long start = System.nanoTime();
            Process p = pb.start();
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (markAt < 0 && mark != null && line.equals(mark)) {
                        markAt = System.nanoTime() - start;
                    }
                    lines.add(line);
                }
            }
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("child process timed out: " + command);
            }
            int code = p.exitValue();
            if (code != 0) {
                throw new IllegalStateException("child process exited with " + code + ": " + String.join(" ", command)
                        + "\nstdout: " + lines + "\nstderr (" + errLog + "):\n" + tail(errLog));
            }
            return new Run(lines, markAt, code);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String tail(Path file) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - 30), all.size()));
        } catch (IOException e) {
            return "(unreadable)";
        }
    }
}

package io.peft4j.it.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
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
import java.util.function.Predicate;

/**
 * A forked JVM that runs while the test talks to it: its standard output is read line by line as it comes (tests wait
 * for lines, never sleep), standard error goes to a file, standard input stays open for commands. The child inherits
 * no JVM options and no {@code PEFT4J_*} variables from the test's environment.
 */
final class App implements AutoCloseable {

    /** Default wait for one expected line. */
    static final Duration WAIT = Duration.ofMinutes(2);

    private final String name;
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Path stdoutFile;
    private final Path stderrFile;
    private final List<String> command;
    private final Writer stdin;
    private boolean ended;
    /** Where {@link #step} looks for the next output line (the test thread's). */
    private int stepped;

    private App(String name, List<String> command, Map<String, String> env, Path dir) throws IOException {
        this.name = name;
        this.command = command;
        Files.createDirectories(dir);
        this.stdoutFile = dir.resolve(name + ".stdout.txt");
        this.stderrFile = dir.resolve(name + ".stderr.txt");
        Files.writeString(dir.resolve(name + ".command.txt"), String.join(" ", command) + "\n");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectError(stderrFile.toFile());
        scrub(pb.environment());
        pb.environment().putAll(env);
        this.process = pb.start();
        this.stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(this::readStdout, "stdout of " + name);
        reader.setDaemon(true);
        reader.start();
    }

    /** Removes what must not leak from the test's environment into a child. */
    static void scrub(Map<String, String> env) {
        for (String k : List.of("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH")) {
            env.remove(k);
        }
        env.keySet().removeIf(k -> k.startsWith("PEFT4J_"));
    }

    private void readStdout() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8)); Writer copy = Files.newBufferedWriter(stdoutFile)) {
            String line;
            while ((line = r.readLine()) != null) {
                copy.write(line + "\n");
                copy.flush();
                synchronized (this) {
                    lines.add(line);
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the process ended
        } finally {
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }
    }

    /** The process id. */
    long pid() {
        return process.pid();
    }

    /** A copy of the lines read so far. */
    synchronized List<String> lines() {
        return new ArrayList<>(lines);
    }

    /** How many lines were read so far. */
    synchronized int lineCount() {
        return lines.size();
    }

    /**
     * Waits for a line at index {@code from} or later that matches.
     *
     * @return the index of the first such line
     * @throws AssertionError when the process ends or the wait times out first
     */
    synchronized int await(int from, Predicate<String> matches, String what) {
        return await(from, matches, what, WAIT);
    }

    /** {@link #await(int, Predicate, String)} with a wait of its own. */
    synchronized int await(int from, Predicate<String> matches, String what, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        int i = from;
        while (true) {
            for (; i < lines.size(); i++) {
                if (matches.test(lines.get(i))) {
                    return i;
                }
            }
            long left = deadline - System.nanoTime();
            if (ended || left <= 0) {
                throw new AssertionError((ended ? name + " ended" : "timed out after " + wait)
                        + " while waiting for " + what + "\n" + describe());
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    /** Sends one line to the application's standard input. */
    void send(String line) {
        try {
            stdin.write(line + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + name + "\n" + describe(), e);
        }
    }

    /**
     * Sends {@code run} to an application started with {@code --step} (ServeApp) and returns the values of the next
     * output line it prints after the previous step's.
     */
    float[] step() {
        send("run");
        int i = await(stepped, Tensors::isOut, "an output line");
        stepped = i + 1;
        return Tensors.parse(lines().get(i)).values();
    }

    /** Sends {@code stop} and waits for the exit status. */
    int stop() {
        try {
            send("stop");
        } catch (UncheckedIOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                close();
                throw new AssertionError(name + " did not stop\n" + describe());
            }
            synchronized (this) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!ended && System.nanoTime() < deadline) {
                    wait(1000);
                }
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Everything written to standard error so far. */
    String stderr() {
        try {
            return Files.exists(stderrFile) ? Files.readString(stderrFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Command, state and the tails of both streams, for assertion messages. */
    String describe() {
        List<String> copy = lines();
        String out = String.join("\n", copy.subList(Math.max(0, copy.size() - 40), copy.size()));
        String err = stderr();
        return "app '" + name + "' (pid " + process.pid() + ", " + (process.isAlive() ? "running" : "exit "
                + process.exitValue()) + ")\ncommand: " + String.join(" ", command).replaceAll("-cp \\S+",
                        "-cp <app classpath>") + "\n--- stdout (tail) ---\n" + out + "\n--- stderr (tail) ---\n"
                + (err.length() > 8000 ? "..." + err.substring(err.length() - 8000) : err);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Path of the {@code java} launcher of this JVM. */
    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Builds an {@link App}. */
    static final class Builder {
        private final String mainClass;
        private final String classpath;
        private String agent;
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private final List<String> args = new ArrayList<>();
        private final List<String> jvmArgs = new ArrayList<>();

        Builder(String mainClass, String classpath) {
            this.mainClass = mainClass;
            this.classpath = classpath;
            properties.put("ai.djl.offline", "true");
        }

        /** Adds {@code -javaagent:JAR[=options]}. */
        Builder agent(String options) {
            this.agent = "-javaagent:" + Env.agentJar() + (options == null || options.isEmpty() ? "" : "=" + options);
            return this;
        }

        /** Adds {@code -Dkey=value}. */
        Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /** Adds a JVM option as is (after {@code -javaagent}, before {@code -cp}). */
        Builder jvmArg(String value) {
            jvmArgs.add(value);
            return this;
        }

        /** Sets an environment variable. */
        Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /** Appends program arguments. */
        Builder args(Object... values) {
            for (Object v : values) {
                args.add(String.valueOf(v));
            }
            return this;
        }

        /** Starts the application in {@code dir} as {@code name}. */
        App start(Path dir, String name) {
            List<String> cmd = new ArrayList<>();
            cmd.add(java());
            properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
            if (agent != null) {
                cmd.add(agent);
            }
            cmd.addAll(jvmArgs);
            cmd.add("-cp");
            cmd.add(classpath);
            cmd.add(mainClass);
            cmd.addAll(args);
            try {
                return new App(name, cmd, env, dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + cmd, e);
            }
        }
    }

    /** A test application of this package with the plain application class path. */
    static Builder of(String simpleName) {
        return new Builder(Env.APPS + simpleName, Env.appClasspath(simpleName, List.of(), List.of()));
    }
}

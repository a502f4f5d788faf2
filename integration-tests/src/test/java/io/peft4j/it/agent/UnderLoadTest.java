package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Adapters changed under load: eight threads forward continuously through their own Predictors while the operator
 * (this test, over JMX) switches, merges, unmerges, disables, hot-swaps, removes and re-loads adapters of golden case
 * {@code g_two_adapters} as fast as the agent answers. Every output any thread ever produced must be PEFT's output of
 * one consistent state (base, {@code default}, {@code other}, both; merged within 1e-4 after many merge/unmerge
 * rounds), no forward fails, no hook error is counted, every operation answers within its timeout and the JVM has no
 * deadlocked thread.
 *
 * <p>A few seconds in {@code mvn verify}; the full run is 60 s:
 * {@code mvn -B -pl integration-tests -am verify -Dtest=UnderLoadTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dpeft4j.load.seconds=60}.
 */
class UnderLoadTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");
    private static final int THREADS = 8;
    private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(60);
    /** One round of operations; each leaves the model in a consistent state, and the round ends where it began. */
    private static final String[][] ROUND = {{"activate", "other"}, {"activate", "default+other"}, {"merge"},
        {"unmerge"}, {"disableAdapters"}, {"enableAdapters"}, {"load", "other"}, {"removeAll"}, {"load", "default"},
        {"load", "other"}, {"activate", "default"}};

    @Test
    void eightThreadsForwardWhileAdaptersChange() throws IOException {
        long seconds = Long.getLong("peft4j.load.seconds", 4);
        Path work = Env.freshDir("agent/under-load");
        Path root = Files.createDirectories(work.resolve("adapters"));
        for (String name : List.of("default", "other")) {
            Path dir = Files.createDirectories(root.resolve(name));
            for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
                Files.copy(CASE.resolve(name).resolve(file), dir.resolve(file));
            }
        }
        Map<String, float[]> states = new LinkedHashMap<>();
        for (String name : List.of("disabled", "default", "other", "both")) {
            states.put(name, Tensors.values(CASE.resolve("expected_output_" + name + ".safetensors"), "output"));
        }
        int rounds = 0;
        long operations = 0;
        try (App app = App.of("ServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapter.other=" + CASE.resolve("other")
                        + ",active=default,adapterRoot=" + root)
                .args(CASE, "--threads", THREADS, "--distinct")
                .start(work, "app")) {
            for (int t = 1; t <= THREADS; t++) {
                String prefix = "OUT t=" + t + " ";
                app.await(0, l -> l.startsWith(prefix), "the first output of thread " + t);
            }
            // only now: the JDK's management agent cannot start while the JVM is still starting
            Jmx jmx = Jmx.connect(app.pid()).awaitRegistered();
            ExecutorService operator = Executors.newSingleThreadExecutor();
            try {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                while (System.nanoTime() < end || rounds == 0) {
                    for (String[] op : ROUND) {
                        Future<String> done = operator.submit(() -> jmx.invoke(op[0], tail(op)));
                        try {
                            done.get(OPERATION_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                        } catch (TimeoutException e) {
                            throw new AssertionError(String.join(" ", op) + " did not answer within "
                                    + OPERATION_TIMEOUT + " (deadlocked threads: " + java.util.Arrays.toString(
                                            jmx.deadlockedThreads()) + ")\n" + app.describe(), e);
                        } catch (ExecutionException e) {
                            throw new AssertionError(String.join(" ", op) + " failed: " + e.getCause(), e);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new AssertionError("interrupted", e);
                        }
                        operations++;
                    }
                    rounds++;
                }
            } finally {
                operator.shutdownNow();
            }
            assertNull(jmx.deadlockedThreads(), "deadlocked threads in the application");
            assertAll(() -> assertEquals(0, jmx.count("SuppressedErrors"), app::describe),
                    () -> assertArrayEquals(new String[0], (String[]) jmx.get("HookErrors"), app::describe));
            jmx.close();
            assertEquals(0, app.stop(), app::describe);

            List<String> wrong = new ArrayList<>();
            long forwards = 0;
            for (String line : app.lines()) {
                if (Tensors.isOut(line) && Tensors.classify(Tensors.parse(line).values(), states, 1e-4) == null) {
                    wrong.add(line);
                }
                if (line.startsWith("DONE ")) {
                    forwards += Long.parseLong(line.replaceAll(".* forwards=(\\d+) .*", "$1"));
                }
            }
            long total = forwards;
            int r = rounds;
            long ops = operations;
            System.out.printf("UnderLoadTest: %d s, %d threads, %d forwards, %d operations in %d rounds%n", seconds,
                    THREADS, total, ops, r);
            assertAll(() -> assertEquals(List.of(), wrong, "outputs of no consistent state"),
                    () -> assertEquals(THREADS, app.lines().stream().filter(l -> l.startsWith("DONE ")).count(),
                            app::describe),
                    () -> assertTrue(total > THREADS * r, "forwards " + total + " for " + r + " rounds"),
                    () -> assertFalse(app.lines().stream().anyMatch(l -> l.startsWith("FAILED")), app::describe),
                    () -> assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe),
                    () -> assertFalse(app.stderr().contains("error while"), app::describe));
        }
    }

    private static String[] tail(String[] op) {
        return java.util.Arrays.copyOfRange(op, 1, op.length);
    }
}

package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * "No port, really", tried as an operator would: an application launched with the agent listens on no TCP port, and
 * every {@code jmx} operation of the command line (the attach channel, the default) leaves the set of sockets it
 * listens on exactly as the first attach left it (the first attach adds the JDK's owner-only attach socket
 * {@code .java_pid<pid>}, a Unix-domain socket, as {@code jcmd} does). The operations act (outputs checked against
 * PEFT's), the agent starts once however often its jar is loaded, and {@code --via-jmx} prints the same text as the
 * channel but does open a TCP listener: the check would see one.
 */
class NoPortTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");

    private App app;
    private Path work;

    @Test
    void noJmxOperationOpensAListeningSocket() throws IOException {
        assumeTrue(ListeningSockets.supported(), "needs Linux /proc");
        work = Env.freshDir("agent/no-port");
        Path root = Files.createDirectories(work.resolve("adapters"));
        Path dumps = work.resolve("dumps");
        for (String name : List.of("default", "other")) {
            Path dir = Files.createDirectories(root.resolve(name));
            for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
                Files.copy(CASE.resolve(name).resolve(file), dir.resolve(file));
            }
        }
        try (App started = App.of("ServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapter.other=" + CASE.resolve("other")
                        + ",active=default,adapterRoot=" + root + ",dumpDir=" + dumps)
                .args(CASE, "--step")
                .start(work, "app")) {
            app = started;
            app.await(0, l -> l.equals("PREDICTOR t=1"), "the Predictor");
            assertOutput("default", "start-up");
            long pid = app.pid();
            Set<String> before = ListeningSockets.of(pid);
            assertTrue(before.stream().noneMatch(s -> s.startsWith("tcp")), () -> "listening at start: " + before);

            String list = cli("list").stdout();
            assertTrue(list.contains("Mlp#1 (io.peft4j.testmodels.Mlp): adapters [default, other]"), list);
            Set<String> attached = ListeningSockets.of(pid);
            Set<String> added = new HashSet<>(attached);
            added.removeAll(before);
            // HotSpot binds .java_pidPID.tmp and renames it: /proc shows the name it was bound to
            Pattern attachSocket = Pattern.compile("unix .*/\\.java_pid" + pid + "(\\.tmp)?");
            assertAll(() -> assertTrue(attached.containsAll(before), () -> before + " -> " + attached),
                    () -> assertTrue(added.stream().allMatch(s -> attachSocket.matcher(s).matches()),
                            () -> "the first attach added more than the attach socket: " + added));

            String[][] operations = {{"adapters"}, {"modules"}, {"activate", "other"}, {"disable"}, {"enable"},
                {"merge"}, {"unmerge"}, {"load", "default"}, {"dump", "default"},
                {"combine", "both", "default+other", "1,1", "cat"}, {"activate", "both"}, {"remove"},
                {"load", "other"}};
            for (String[] op : operations) {
                AgentCli.Result r = cli(op);
                assertEquals(attached, ListeningSockets.of(pid), () -> "after jmx " + String.join(" ", op) + "\n"
                        + r);
                switch (op[0] + (op.length > 1 ? " " + op[1] : "")) {
                    case "activate other" -> assertOutput("other", "jmx activate other");
                    case "disable" -> assertOutput("disabled", "jmx disable");
                    case "merge" -> assertOutput("other", "jmx merge (of the active adapter, other)");
                    case "activate both" -> assertOutput("both", "jmx activate both (cat of default and other)");
                    case "remove" -> assertOutput("disabled", "jmx remove");
                    case "load other" -> assertOutput("other", "jmx load other after remove");
                    case "dump default" -> assertTrue(Files.isRegularFile(dumps.resolve(
                            "default/adapter_model.safetensors")), r::toString);
                    default -> { }
                }
            }
            AgentCli.Result refused = AgentCli.run(work, "jmx", Long.toString(pid), "dump", "../x");
            assertAll(() -> assertEquals(1, refused.exitCode(), refused::toString),
                    () -> assertTrue(refused.stderr().contains("dump ../x failed in pid " + pid + ": adapter name"
                            + " '../x' is not allowed"), refused::toString),
                    () -> assertEquals(attached, ListeningSockets.of(pid), "after a refused operation"));

            String channel = cli("list").stdout();
            AgentCli.Result viaJmx = AgentCli.run(work, "jmx", "--via-jmx", Long.toString(pid), "list");
            Set<String> afterJmx = ListeningSockets.of(pid);
            assertAll(() -> assertEquals(0, viaJmx.exitCode(), viaJmx::toString),
                    () -> assertEquals(channel, viaJmx.stdout(), "the same text through both routes"),
                    () -> assertTrue(afterJmx.stream().anyMatch(s -> s.startsWith("tcp")),
                            () -> "--via-jmx starts the JDK's local connector, a TCP listener: " + afterJmx));

            assertEquals(0, app.stop(), app::describe);
            String stderr = app.stderr();
            assertAll(() -> assertEquals(1, count(stderr, "agent ready in"), "one start-up however often the jar is"
                            + " loaded\n" + app.describe()),
                    () -> assertFalse(stderr.contains("already running"), app::describe),
                    () -> assertFalse(stderr.contains("[peft4j] ERROR"), app::describe),
                    () -> assertFalse(stderr.contains("error while"), app::describe));
        }
    }

    private AgentCli.Result cli(String... operation) {
        String[] args = new String[operation.length + 2];
        args[0] = "jmx";
        args[1] = Long.toString(app.pid());
        System.arraycopy(operation, 0, args, 2, operation.length);
        AgentCli.Result r = AgentCli.run(work, args);
        assertEquals(0, r.exitCode(), () -> r + "\n" + app.describe());
        return r;
    }

    private void assertOutput(String expectedName, String after) {
        float[] actual = app.step();
        float[] expected = Tensors.values(CASE.resolve("expected_output_" + expectedName + ".safetensors"), "output");
        assertTrue(Tensors.close(actual, expected, 1e-5), () -> "after " + after + " the output is not "
                + expectedName + " (max diff " + Tensors.maxAbsDiff(actual, expected) + ")\n" + app.describe());
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}

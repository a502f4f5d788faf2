package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.management.openmbean.CompositeData;
import org.junit.jupiter.api.Test;

/**
 * Live swaps on a traced model under load: four threads serve golden case {@code g_two_adapters}'s TorchScript trace
 * through their own Predictors, merged at load with adapter {@code default}, while an operator runs JMX
 * {@code load other}, then {@code jmx <pid> unmerge}, {@code activate default+other} and {@code disable} from the
 * command line. Every output must be one of PEFT's outputs for the current or the previous state (never a mix, never
 * an error); each thread goes through the states in order; the unmerged and disabled outputs are the base model's
 * within 1e-6; {@code InjectedModules} lists the merged modules.
 */
class TracedHotSwapTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");
    private static final int THREADS = 4;
    private static final List<String> STATES = List.of("default", "other", "disabled", "both", "disabled");

    @Test
    void swapsOnATracedModelUnderFourThreadsNeverMix() {
        Path work = Env.freshDir("agent/traced-hot-swap");
        Map<String, float[]> expected = new LinkedHashMap<>();
        for (String state : List.of("default", "other", "disabled", "both")) {
            expected.put(state, Tensors.values(CASE.resolve("expected_output_" + state + ".safetensors"), "output"));
        }
        List<String> results = new ArrayList<>();
        List<CompositeData> modulesAfterLoad;
        long suppressed;
        try (App app = App.of("TracedServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapterRoot=" + CASE)
                .args(CASE, "--threads", THREADS)
                .start(work, "app")) {
            waitForEachThread(app, app.lineCount(), 5);
            try (Jmx jmx = Jmx.connect(app.pid()).awaitRegistered()) {
                results.add(jmx.invoke("load", "other"));
                waitForEachThread(app, app.lineCount(), 3);
                modulesAfterLoad = jmx.rows("InjectedModules");
                for (String[] op : List.of(new String[] {"unmerge"}, new String[] {"activate", "default+other"},
                        new String[] {"disable"})) {
                    List<String> cli = new ArrayList<>(List.of("jmx", Long.toString(app.pid())));
                    cli.addAll(List.of(op));
                    AgentCli.Result r = AgentCli.run(work, cli.toArray(new String[0]));
                    assertEquals(0, r.exitCode(), r::toString);
                    results.add(r.stdout().trim());
                    waitForEachThread(app, app.lineCount(), 3);
                }
                suppressed = jmx.count("SuppressedErrors");
            }
            assertEquals(0, app.stop(), app::describe);

            Map<Integer, List<String>> perThread = new LinkedHashMap<>();
            List<String> mixes = new ArrayList<>();
            double baseError = 0;
            for (Tensors.Out out : Tensors.outs(app.lines())) {
                String kind = Tensors.classify(out.values(), expected);
                if (kind == null) {
                    mixes.add("t=" + out.thread() + " n=" + out.batch());
                    kind = "MIX";
                } else if (kind.equals("disabled")) {
                    baseError = Math.max(baseError, Tensors.maxAbsDiff(out.values(), expected.get("disabled")));
                }
                List<String> kinds = perThread.computeIfAbsent(out.thread(), k -> new ArrayList<>());
                if (kinds.isEmpty() || !kinds.get(kinds.size() - 1).equals(kind)) {
                    kinds.add(kind);
                }
            }
            double worstBase = baseError;
            TreeSet<String> merged = new TreeSet<>();
            for (CompositeData row : modulesAfterLoad) {
                merged.add(row.get("adapterName") + ":" + row.get("path") + ":" + row.get("blockClass"));
            }
            assertAll("traced hot swap",
                    () -> assertEquals(List.of(), mixes, "outputs that are no state's"),
                    () -> assertEquals(THREADS, perThread.size()),
                    () -> perThread.forEach((t, kinds) -> assertEquals(STATES, kinds, "states seen by thread " + t)),
                    () -> assertTrue(worstBase <= 1e-6, "unmerged/disabled output vs the base model: " + worstBase),
                    () -> assertEquals(new TreeSet<>(List.of(
                            "other:fc2:ai.djl.pytorch.engine.PtSymbolBlock (Linear, merged)",
                            "other:head:ai.djl.pytorch.engine.PtSymbolBlock (Linear, merged)")), merged),
                    () -> assertTrue(results.get(0).startsWith("loaded other (LORA)"), results::toString),
                    () -> assertTrue(results.get(1).startsWith("unmerged ["), results::toString),
                    () -> assertTrue(results.get(2).startsWith("activated default+other on ["), results::toString),
                    () -> assertTrue(results.get(3).startsWith("disabled adapters on ["), results::toString),
                    () -> assertEquals(0, suppressed, app::describe),
                    () -> assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe),
                    () -> assertFalse(app.lines().stream().anyMatch(l -> l.startsWith("FAILED")), app::describe));
        }
    }

    /** Waits until every thread printed {@code count} outputs after line {@code from}. */
    private static void waitForEachThread(App app, int from, int count) {
        for (int t = 1; t <= THREADS; t++) {
            String prefix = "OUT t=" + t + " ";
            int at = from;
            for (int i = 0; i < count; i++) {
                at = app.await(at, l -> l.startsWith(prefix), count + " outputs of thread " + t) + 1;
            }
        }
    }
}

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
import org.junit.jupiter.api.Test;

/**
 * A hot swap under load: four threads run inference through their own Predictors on a model with adapter
 * {@code default} of golden case {@code g_two_adapters} while JMX {@code load("other")} loads and activates the other
 * adapter. Every output must be PEFT's expected output for {@code default} or for {@code other} (never a mix, never
 * an error), each thread switches once and for all, and the last outputs are all {@code other}.
 */
class HotSwapTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");
    private static final int THREADS = 4;

    @Test
    void loadingAnAdapterWhileFourThreadsRunInferenceNeverMixesAdapters() {
        Path work = Env.freshDir("agent/hot-swap");
        Map<String, float[]> expected = new LinkedHashMap<>();
        expected.put("default", Tensors.values(CASE.resolve("expected_output_default.safetensors"), "output"));
        expected.put("other", Tensors.values(CASE.resolve("expected_output_other.safetensors"), "output"));
        try (App app = App.of("ServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapterRoot=" + CASE)
                .args(CASE, "--threads", THREADS)
                .start(work, "app")) {
            for (int t = 1; t <= THREADS; t++) {
                String prefix = "OUT t=" + t + " n=5 ";
                app.await(0, l -> l.startsWith(prefix), "five batches of thread " + t);
            }
            String result;
            long suppressed;
            try (Jmx jmx = Jmx.connect(app.pid()).awaitRegistered()) {
                result = jmx.invoke("load", "other");
                int afterLoad = app.lineCount();
                for (int t = 1; t <= THREADS; t++) {
                    String prefix = "OUT t=" + t + " ";
                    int first = app.await(afterLoad, l -> l.startsWith(prefix), "thread " + t + " after the load");
                    int second = app.await(first + 1, l -> l.startsWith(prefix), "thread " + t + " after the load");
                    app.await(second + 1, l -> l.startsWith(prefix), "thread " + t + " after the load");
                }
                suppressed = jmx.count("SuppressedErrors");
            }
            assertEquals(0, app.stop(), app::describe);
            assertTrue(result.startsWith("loaded other (LORA)"), result);
            assertEquals(0, suppressed, app::describe);

            Map<String, float[]> wrong = new LinkedHashMap<>();
            for (String name : List.of("disabled", "both")) {
                wrong.put(name, Tensors.values(CASE.resolve("expected_output_" + name + ".safetensors"), "output"));
            }
            Map<Integer, List<String>> perThread = new LinkedHashMap<>();
            List<String> mixes = new ArrayList<>();
            for (Tensors.Out out : Tensors.outs(app.lines())) {
                String kind = Tensors.classify(out.values(), expected);
                if (kind == null) {
                    String what = Tensors.classify(out.values(), wrong);
                    mixes.add("t=" + out.thread() + " n=" + out.batch() + " " + (what != null ? what
                            : "unknown (max diff to default " + Tensors.maxAbsDiff(out.values(),
                                    expected.get("default")) + ", to other " + Tensors.maxAbsDiff(out.values(),
                                    expected.get("other")) + ")"));
                    kind = "MIX";
                }
                perThread.computeIfAbsent(out.thread(), k -> new ArrayList<>()).add(kind);
            }
            assertEquals(List.of(), mixes, () -> "outputs that are neither adapter's; per thread: "
                    + perThread.entrySet().stream().map(e -> e.getKey() + ": " + summary(e.getValue())).toList());
            assertEquals(THREADS, perThread.size());
            perThread.forEach((thread, kinds) -> {
                int switched = kinds.indexOf("other");
                assertAll("thread " + thread + ": " + summary(kinds),
                        () -> assertTrue(switched >= 5),
                        () -> assertFalse(kinds.subList(switched, kinds.size()).contains("default"),
                                "switched back to default"),
                        () -> assertEquals("other", kinds.get(kinds.size() - 1)),
                        () -> assertEquals("other", kinds.get(kinds.size() - 2)));
            });
            assertAll(() -> assertFalse(app.stderr().contains("error while"), app::describe),
                    () -> assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe),
                    () -> assertFalse(app.lines().stream().anyMatch(l -> l.startsWith("FAILED")), app::describe));
        }
    }

    private static String summary(List<String> kinds) {
        StringBuilder sb = new StringBuilder();
        String last = null;
        int run = 0;
        for (String k : kinds) {
            if (k.equals(last)) {
                run++;
                continue;
            }
            if (last != null) {
                sb.append(last).append(" x").append(run).append(", ");
            }
            last = k;
            run = 1;
        }
        return sb.append(last).append(" x").append(run).toString();
    }
}

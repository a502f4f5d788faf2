package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Per-request adapters through the agent on an unmodified {@code Predictor<Input, Output>} application
 * ({@code ServingApp}, golden case {@code g_two_adapters}): the {@code Input} property {@code adapter} picks the
 * adapter of each {@code predict}, and a {@code batchPredict} over requests naming different adapters runs as one
 * mixed batch; every row must equal PEFT's output of that row with that adapter.
 */
class PerRequestAdaptersThroughAgentTest {

    private static final double TOLERANCE = 1e-5;

    /** Rows sent alone: 'default', no property (the active adapter, 'other'), the base model. */
    private static final String SINGLE = "default,-,none";
    /** Rows sent in one batch. */
    private static final String BATCH = "other,none,default";

    @Test
    void namedAdaptersWithUnknownRefused() throws IOException {
        Path caseDir = ItEnvironment.goldenCase("g_two_adapters");
        Path work = ItEnvironment.freshWorkDir("per-request/named");
        Path output = work.resolve("output.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("ServingApp")
                .javaagent(ItEnvironment.agentJar(), "adapter.default=" + caseDir.resolve("default")
                        + ",adapter.other=" + caseDir.resolve("other"))
                .args(caseDir, output, SINGLE, BATCH)
                .run(work, "agent");
        assertEquals(0, run.exitCode(), run::describe);
        Safetensors out = Safetensors.read(output);
        assertAll(() -> AgentLog.assertNoErrors(run),
                () -> assertRows(caseDir, out.get("single"), List.of("default", "other", "disabled"), "predict"),
                () -> assertRows(caseDir, out.get("batch"), List.of("other", "disabled", "default"), "batchPredict"),
                () -> assertTrue(run.output().contains("ServingApp: unknown adapter refused: request 0 names adapter "
                        + "'no-such-tenant' (Input property 'adapter'), which this model does not have (adapters: "
                        + "[default, other])"), run::describe),
                () -> assertTrue(run.output().contains(
                        "ServingApp: RequestsPerAdapter=[__base__=2, default=2, other=2] UnknownAdapterRequests=0"),
                        run::describe));
    }

    @Test
    void preloadedFromAdapterRootWithUnknownOnBase() throws IOException {
        Path caseDir = ItEnvironment.goldenCase("g_two_adapters");
        Path work = ItEnvironment.freshWorkDir("per-request/preload");
        Path output = work.resolve("output.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("ServingApp")
                .javaagent(ItEnvironment.agentJar(), "adapterRoot=" + caseDir + ",preload=all,unknownAdapter=base")
                .args(caseDir, output, SINGLE, BATCH)
                .run(work, "agent");
        assertEquals(0, run.exitCode(), run::describe);
        Safetensors out = Safetensors.read(output);
        assertAll(() -> AgentLog.assertNoErrors(run),
                () -> assertRows(caseDir, out.get("single"), List.of("default", "other", "disabled"), "predict"),
                () -> assertRows(caseDir, out.get("batch"), List.of("other", "disabled", "default"), "batchPredict"),
                () -> assertRows(caseDir, out.get("unknown"), List.of("disabled"), "unknown adapter on the base"),
                () -> assertTrue(run.output().contains(
                        "ServingApp: RequestsPerAdapter=[__base__=3, default=2, other=2] UnknownAdapterRequests=1"),
                        run::describe),
                () -> assertTrue(run.output().contains("bytes"), run::describe));
    }

    /** Row {@code i} of {@code actual} equals row {@code i} of {@code expected_output_<expected[i]>}. */
    private static void assertRows(Path caseDir, Safetensors.Tensor actual, List<String> expected, String what)
            throws IOException {
        float[] got = actual.floats();
        int width = got.length / expected.size();
        for (int i = 0; i < expected.size(); i++) {
            float[] all = Safetensors.read(caseDir.resolve("expected_output_" + expected.get(i) + ".safetensors"))
                    .get("output").floats();
            float[] want = Arrays.copyOfRange(all, i * width, (i + 1) * width);
            float[] row = Arrays.copyOfRange(got, i * width, (i + 1) * width);
            double max = 0;
            for (int k = 0; k < width; k++) {
                max = Math.max(max, Math.abs(want[k] - row[k]));
            }
            assertTrue(max <= TOLERANCE, what + " row " + i + " vs expected_output_" + expected.get(i) + ": max |diff| "
                    + max);
        }
    }
}

package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Several named adapters through the agent ({@code adapter.NAME=DIR}) on golden case {@code g_two_adapters}: PEFT
 * 0.20.0 injected LoRA "default" (fc1, fc2) and then "other" (fc2, head) into one MLP. Without {@code active} the
 * last injected adapter is the only active one, as in PEFT; {@code active=a+b} selects and combines adapters, and
 * {@code merge=true} merges the active ones into the base weights.
 */
class NamedAdaptersThroughAgentTest {

    private static final double TOLERANCE = 1e-5;

    /** The JVM exit status of a configuration error (sysexits EX_CONFIG). */
    private static final int EX_CONFIG = 78;

    /** The modules each adapter targets (case.json "state_dict_keys_per_adapter"). */
    private static final Map<String, Set<String>> MODULES =
            Map.of("default", Set.of("fc1", "fc2"), "other", Set.of("fc2", "head"));

    @ParameterizedTest(name = "active={0} merge={1}")
    @CsvSource({
        "'', false, expected_output_as_injected",
        "default, false, expected_output_default",
        "other, false, expected_output_other",
        "default+other, false, expected_output_both",
        "default+other, true, expected_output_merged_both"})
    void activeAdaptersReproducePeftOutput(String active, boolean merge, String expected) throws IOException {
        Path caseDir = ItEnvironment.goldenCase("g_two_adapters");
        String label = (active.isEmpty() ? "as-injected" : active) + (merge ? "-merged" : "");
        Path work = ItEnvironment.freshWorkDir("named-adapters/" + label);
        Path output = work.resolve("output.safetensors");
        String options = twoAdapters(caseDir) + (active.isEmpty() ? "" : ",active=" + active)
                + (merge ? ",merge=true" : "");

        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), options)
                .args(caseDir, output)
                .run(work, "agent");

        assertEquals(0, run.exitCode(), run::describe);
        assertTrue(Files.isRegularFile(output), () -> "no output written\n" + run.describe());
        assertAll("g_two_adapters with " + options,
                () -> AgentLog.assertNoErrors(run),
                () -> {
                    if (merge) {
                        AgentLog.assertMergeLogged(run);
                    }
                },
                () -> TensorAssertions.assertClose(
                        Safetensors.read(caseDir.resolve(expected + ".safetensors")).get("output"),
                        Safetensors.read(output).get("output"), TOLERANCE,
                        "g_two_adapters output with " + options + " vs " + expected),
                () -> {
                    Map<String, Set<String>> injected = new TreeMap<>();
                    for (AgentLog.Injected line : AgentLog.injectedLines(run.output())) {
                        assertEquals("LORA", line.type(), () -> "adapter type in " + line);
                        injected.computeIfAbsent(line.adapter(), k -> new TreeSet<>()).add(line.module());
                    }
                    Map<String, Set<String>> expectedModules = new TreeMap<>();
                    MODULES.forEach((k, v) -> expectedModules.put(k, new TreeSet<>(v)));
                    assertEquals(expectedModules, injected,
                            () -> "modules per adapter in the agent's 'injected' log lines\n" + run.describe());
                });
    }

    /**
     * PEFT's less-trodden paths with two adapters, injected in order as {@code adapter.NAME} options: h5 (adapters
     * {@code de} and {@code default}, where a substring rule confuses their tensors) and h6 (a second IA3 adapter,
     * which keeps the layers' feed-forward choice of the first).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"h5_two_adapters_prefix_names, de, default", "h6_ia3_second_adapter_ff, default, other"})
    void twoAdapterEdgeCasesReproducePeftOutput(String caseName, String first, String second) throws IOException {
        Path caseDir = ItEnvironment.goldenCase(caseName);
        Path work = ItEnvironment.freshWorkDir("named-adapters/" + caseName);
        Path output = work.resolve("output.safetensors");
        String options = "adapter." + first + "=" + caseDir.resolve(first) + ",adapter." + second + "="
                + caseDir.resolve(second);
        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), options)
                .args(caseDir, output)
                .run(work, "agent");
        assertEquals(0, run.exitCode(), run::describe);
        assertAll(caseName,
                () -> AgentLog.assertNoErrors(run),
                () -> TensorAssertions.assertClose(
                        Safetensors.read(caseDir.resolve("expected_output_as_injected.safetensors")).get("output"),
                        Safetensors.read(output).get("output"), TOLERANCE, caseName + " output as injected"),
                () -> {
                    Set<String> adapters = new TreeSet<>();
                    AgentLog.injectedLines(run.output()).forEach(line -> adapters.add(line.adapter()));
                    assertEquals(new TreeSet<>(Set.of(first, second)), adapters, run::describe);
                });
    }

    @Test
    void activatingAnUnknownAdapterStopsWithStatus78NamingIt() {
        Path caseDir = ItEnvironment.goldenCase("g_two_adapters");
        Path work = ItEnvironment.freshWorkDir("named-adapters/active-nope");
        Path output = work.resolve("output.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), twoAdapters(caseDir) + ",active=nope")
                .args(caseDir, output)
                .run(work, "agent");
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, "nope"),
                () -> assertFalse(Files.exists(output),
                        () -> "the application ran although the agent's configuration is invalid\n" + run.describe()));
    }

    /** {@code adapter.default=<case>/default,adapter.other=<case>/other}. */
    private static String twoAdapters(Path caseDir) {
        return "adapter.default=" + caseDir.resolve("default") + ",adapter.other=" + caseDir.resolve("other");
    }
}

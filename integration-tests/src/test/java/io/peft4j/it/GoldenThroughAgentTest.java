package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The golden PEFT 0.20.0 cases through the agent: an unmodified DJL application ({@code GoldenApp}) started with
 * {@code -javaagent:peft4j-agent.jar=adapter=<case>} must reproduce PEFT's output, log every module PEFT adapted with
 * PEFT's scaling, and with {@code -Dpeft4j.enabled=false} reproduce the base model's output.
 */
class GoldenThroughAgentTest {

    private static final double TOLERANCE = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PEFT_MODEL_PREFIX = "base_model.model.";

    private static String unprefixed(String module) {
        return module.startsWith(PEFT_MODEL_PREFIX) ? module.substring(PEFT_MODEL_PREFIX.length()) : module;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"a_lora_dummy", "b1_lora_mlp", "b2_lora_mlp_rslora", "b3_lora_mlp_bias_all",
        "b4_lora_mlp_bias_lora_only", "b5_lora_mlp_rank_alpha_pattern", "b6_lora_mlp_modules_to_save",
        "f1_lora_mlp_regex", "h1_lora_bias", "h2_modules_to_save_suffix", "h3_saved_pretrained_prefix",
        "h7_adapter_named_lora"})
    void adapterFromGoldenDirectoryReproducesPeftOutput(String caseName) throws IOException {
        assertReproducesPeft(caseName, "golden/" + caseName);
    }

    /**
     * Runs {@code GoldenApp} on golden case {@code caseName} with the agent and checks its output against PEFT's, the
     * logged modules and scalings, and that no hook suppressed an error.
     *
     * @param caseName the golden case
     * @param workName the scratch directory's name under {@code target/it-work}
     */
    static void assertReproducesPeft(String caseName, String workName) throws IOException {
        Path caseDir = ItEnvironment.goldenCase(caseName);
        Path work = ItEnvironment.freshWorkDir(workName);
        Path output = work.resolve("output.safetensors");
        JsonNode caseJson = JSON.readTree(caseDir.resolve("case.json").toFile());
        String adapterName = caseJson.path("adapter_name").asText("default");

        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir
                        + ("default".equals(adapterName) ? "" : ",name=" + adapterName))
                .args(caseDir, output)
                .run(work, "agent");

        assertEquals(0, run.exitCode(), run::describe);
        assertTrue(Files.isRegularFile(output), () -> "no output written\n" + run.describe());
        Map<String, String> logged = AgentLog.scalingByModule(run.output(), adapterName);

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoSuppressedErrors(run));
        checks.add(() -> TensorAssertions.assertClose(
                Safetensors.read(caseDir.resolve("expected_output.safetensors")).get("output"),
                Safetensors.read(output).get("output"), TOLERANCE, caseName + " output with adapter"));
        // PeftModel (h3) names its modules base_model.model.<path>; the application's model has the plain paths
        TreeSet<String> expectedModules = new TreeSet<>();
        caseJson.path("tuner_layers").fieldNames().forEachRemaining(m -> expectedModules.add(unprefixed(m)));
        checks.add(() -> assertEquals(expectedModules, new TreeSet<>(logged.keySet()),
                () -> "modules named in the agent's 'injected' log lines\n" + run.describe()));
        JsonNode scaling = caseJson.path("scaling");
        for (String module : expectedModules) {
            JsonNode byAdapter = scaling.has(module) ? scaling.path(module) : scaling.path(PEFT_MODEL_PREFIX + module);
            double expected = byAdapter.path(adapterName).asDouble(Double.NaN);
            checks.add(() -> {
                String printed = logged.get(module);
                assertTrue(printed != null, () -> "no 'injected ... into '" + module + "'' line\n" + run.describe());
                assertEquals(expected, Double.parseDouble(printed), 1e-9,
                        () -> "scaling logged for '" + module + "' (printed '" + printed + "')\n" + run.describe());
            });
        }
        assertAll(caseName, checks);
    }

    /**
     * The cases beyond LoRA on Linear: LoRA on an IdEmbedding and on Conv2d, IA3 (fc2 feed-forward), AdaLoRA
     * (SVDLinear), and DoRA on Conv2d and on an IdEmbedding (edge cases h8, h9). Each runs twice: as injected (PEFT's
     * {@code expected_output}) and with {@code merge=true} (PEFT's
     * output after {@code layer.merge()} on every tuner layer).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"c1_lora_embedding", "c2_lora_conv2d", "d_ia3_mlp", "e_adalora_mlp", "h8_dora_conv2d",
        "h9_dora_embedding"})
    void otherTunersReproducePeftOutputAsInjectedAndMerged(String caseName) throws IOException {
        Path caseDir = ItEnvironment.goldenCase(caseName);
        Path work = ItEnvironment.freshWorkDir("golden-tuners/" + caseName);
        JsonNode caseJson = JSON.readTree(caseDir.resolve("case.json").toFile());
        String adapterName = caseJson.path("adapter_name").asText("default");
        String peftType = JSON.readTree(caseDir.resolve("adapter_config.json").toFile()).path("peft_type").asText();
        TreeSet<String> expectedModules = new TreeSet<>();
        caseJson.path("tuner_layers").fieldNames().forEachRemaining(expectedModules::add);

        List<Executable> checks = new ArrayList<>();
        for (boolean merge : new boolean[] {false, true}) {
            String label = merge ? "merged" : "agent";
            Path output = work.resolve(label + ".safetensors");
            ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                    .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir + (merge ? ",merge=true" : ""))
                    .args(caseDir, output)
                    .run(work, label);
            assertEquals(0, run.exitCode(), run::describe);
            assertTrue(Files.isRegularFile(output), () -> "no output written\n" + run.describe());
            String expectedFile = merge ? "expected_output_merged.safetensors" : "expected_output.safetensors";
            checks.add(() -> AgentLog.assertNoErrors(run));
            if (merge) {
                checks.add(() -> AgentLog.assertMergeLogged(run));
            }
            checks.add(() -> TensorAssertions.assertClose(
                    Safetensors.read(caseDir.resolve(expectedFile)).get("output"),
                    Safetensors.read(output).get("output"), TOLERANCE,
                    caseName + (merge ? " output with merge=true vs " : " output with adapter vs ") + expectedFile));
            checks.add(() -> {
                List<AgentLog.Injected> lines = AgentLog.injectedLines(run.output());
                TreeSet<String> modules = new TreeSet<>();
                for (AgentLog.Injected line : lines) {
                    assertEquals(adapterName, line.adapter(), () -> "adapter name in " + line + "\n" + run.describe());
                    assertEquals(peftType, line.type(), () -> "adapter type in " + line + "\n" + run.describe());
                    modules.add(line.module());
                }
                assertEquals(expectedModules, modules,
                        () -> "modules named in the agent's 'injected' log lines (" + label + ")\n" + run.describe());
            });
        }
        assertAll(caseName, checks);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"b1_lora_mlp", "b6_lora_mlp_modules_to_save"})
    void disabledBySystemPropertyReproducesBaseOutput(String caseName) throws IOException {
        Path caseDir = ItEnvironment.goldenCase(caseName);
        Path work = ItEnvironment.freshWorkDir("golden-disabled/" + caseName);
        Path output = work.resolve("output.safetensors");

        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir)
                .systemProperty("peft4j.enabled", "false")
                .args(caseDir, output)
                .run(work, "disabled");

        assertEquals(0, run.exitCode(), run::describe);
        assertTrue(Files.isRegularFile(output), () -> "no output written\n" + run.describe());
        assertAll(caseName + " disabled",
                () -> AgentLog.assertNoSuppressedErrors(run),
                () -> assertEquals(List.of(), AgentLog.injections(run.output()),
                        () -> "the disabled agent injected modules\n" + run.describe()),
                () -> TensorAssertions.assertClose(
                        Safetensors.read(caseDir.resolve("expected_output_disabled.safetensors")).get("output"),
                        Safetensors.read(output).get("output"), TOLERANCE, caseName + " output with enabled=false"));
    }
}

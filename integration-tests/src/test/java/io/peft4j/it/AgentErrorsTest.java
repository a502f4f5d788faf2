package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What a user sees when the agent is misconfigured: configuration errors stop the JVM at launch with status 78 and
 * a {@code [peft4j] ERROR} line naming the culprit; a config that targets no module fails the application with
 * PEFT's own message, or, with {@code onError=warn}, lets it run unadapted.
 */
class AgentErrorsTest {

    /** The JVM exit status of a configuration error (sysexits EX_CONFIG). */
    private static final int EX_CONFIG = 78;

    private static final String PEFT_NO_TARGET = "Target modules {'does_not_exist'} not found in the base model."
            + " Please check the target modules and try again.";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void missingAdapterDirectoryStopsWithStatus78() {
        Path work = ItEnvironment.freshWorkDir("errors/missing-dir");
        Path missing = work.resolve("no-such-adapter");
        ForkedJvm.Result run = goldenApp(work, "adapter=" + missing);
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, missing.toString()));
    }

    @Test
    void unsupportedFieldIsRejectedWithStatus78() throws IOException {
        Path work = ItEnvironment.freshWorkDir("errors/use-qalora");
        Path adapter = adapterWith(work, c -> c.put("use_qalora", true));
        ForkedJvm.Result run = goldenApp(work, "adapter=" + adapter);
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, "use_qalora"));
    }

    @Test
    void invalidJsonStopsWithStatus78NamingTheFile() throws IOException {
        Path work = ItEnvironment.freshWorkDir("errors/invalid-json");
        Path adapter = Files.createDirectories(work.resolve("adapter"));
        Path config = adapter.resolve("adapter_config.json");
        Files.writeString(config, "{\"peft_type\": \"LORA\", \"r\": 4, \"target_modules\": [\"fc1\",",
                StandardCharsets.UTF_8);
        ForkedJvm.Result run = goldenApp(work, "adapter=" + adapter);
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, config.toString()));
    }

    @Test
    void unmatchedTargetModulesFailTheApplicationWithPeftsMessage() throws IOException {
        Path work = ItEnvironment.freshWorkDir("errors/no-target-fail");
        Path adapter = adapterWith(work, c -> c.putArray("target_modules").add("does_not_exist"));
        ForkedJvm.Result run = goldenApp(work, "adapter=" + adapter);
        assertAll(() -> assertNotEquals(0, run.exitCode(), run::describe),
                () -> assertTrue(run.stderr().contains(PEFT_NO_TARGET),
                        () -> "stderr lacks PEFT's message '" + PEFT_NO_TARGET + "'\n" + run.describe()),
                () -> assertEquals(1, run.stderr().split(Pattern.quote(PEFT_NO_TARGET), -1).length - 1,
                        () -> "PEFT's message is printed more than once\n" + run.describe()),
                () -> assertTrue(run.stderr().contains(PEFT_NO_TARGET + " The model's module paths nearest to it:"
                        + " 'relu1', 'relu2', 'head', 'fc1', 'fc2' (5 of 5 leaf modules;"), run::describe),
                () -> assertFalse(run.stderr().contains("\tat io.peft4j"), () -> "a stack trace without debug=true\n"
                        + run.describe()),
                () -> assertFalse(Files.exists(work.resolve("output.safetensors")),
                        () -> "the application produced output without its adapter\n" + run.describe()));
    }

    @Test
    void unmatchedTargetModulesWithOnErrorWarnRunWithoutTheAdapter() throws IOException {
        Path work = ItEnvironment.freshWorkDir("errors/no-target-warn");
        Path adapter = adapterWith(work, c -> c.putArray("target_modules").add("does_not_exist"));
        ForkedJvm.Result run = goldenApp(work, "adapter=" + adapter + ",onError=warn");
        assertEquals(0, run.exitCode(), run::describe);
        assertAll(() -> AgentLog.assertNoSuppressedErrors(run),
                () -> assertTrue(Pattern.compile("WITHOUT (the )?adapters?").matcher(run.stderr()).find(),
                        () -> "stderr does not say the application runs WITHOUT the adapter\n" + run.describe()),
                () -> assertEquals(List.of(), AgentLog.injections(run.output()), run::describe),
                () -> TensorAssertions.assertClose(
                        Safetensors.read(ItEnvironment.goldenCase("b1_lora_mlp")
                                .resolve("expected_output_disabled.safetensors")).get("output"),
                        Safetensors.read(work.resolve("output.safetensors")).get("output"), 1e-5,
                        "output with onError=warn and no matching target module"));
    }

    @Test
    void aMisspeltTargetModulesStopsAtLaunchWithTheKeyItMeant() throws IOException {
        Path work = ItEnvironment.freshWorkDir("errors/target-module-typo");
        Path adapter = adapterWith(work, c -> c.set("target_module", c.remove("target_modules")));
        ForkedJvm.Result run = goldenApp(work, "adapter=" + adapter);
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, "field \"target_modules\": Please specify `target_modules` or"
                        + " `target_parameters`in `peft_config` (target_modules is missing;"),
                () -> AgentLog.assertErrorNames(run, "unknown key ['target_module'] for LoraConfig (did you mean"
                        + " 'target_modules'?)"),
                () -> assertEquals(1, run.stderr().lines().filter(l -> l.contains("target_module'")).count(),
                        () -> "the misspelt key is reported more than once\n" + run.describe()));
    }

    @Test
    void unknownAgentOptionStopsWithStatus78NamingIt() {
        Path work = ItEnvironment.freshWorkDir("errors/unknown-option");
        ForkedJvm.Result run = goldenApp(work, "adapter=" + ItEnvironment.goldenCase("b1_lora_mlp") + ",foo=1");
        assertAll(() -> assertEquals(EX_CONFIG, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, "foo"));
    }

    /** GoldenApp over case b1 with the agent and {@code agentOptions}, writing {@code work/output.safetensors}. */
    private static ForkedJvm.Result goldenApp(Path work, String agentOptions) {
        Path caseDir = ItEnvironment.goldenCase("b1_lora_mlp");
        return ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), agentOptions)
                .args(caseDir, work.resolve("output.safetensors"))
                .run(work, "app");
    }

    /** An adapter directory holding b1's {@code adapter_config.json} changed by {@code edit} (no weights). */
    private static Path adapterWith(Path work, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path dir = Files.createDirectories(work.resolve("adapter"));
        ObjectNode config = (ObjectNode) JSON.readTree(
                ItEnvironment.goldenCase("b1_lora_mlp").resolve("adapter_config.json").toFile());
        edit.accept(config);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("adapter_config.json").toFile(), config);
        return dir;
    }
}

package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.state.AdapterMutants;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * JMX {@code load} of hostile adapter directories (the jqwik mutants of {@code HostileAdapterFilesTest}, fewer of
 * them, through a forked JVM with the agent): every mutant is loaded or refused with an
 * {@code IllegalArgumentException}/{@code IllegalStateException} (the types a JMX client without peft4j's classes
 * can read) naming the adapter directory, and after each one the served output is again PEFT's expected output
 * for the original adapter, bit for bit as before: a refusal leaves nothing half-injected. Mutants:
 * {@code -Dpeft4j.jmxMutants=N} (default 20).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileJmxLoadTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");
    private static final Path VALID = Env.goldenCase("b1_lora_mlp");

    private Path root;
    private App app;
    private Jmx jmx;

    @BeforeAll
    void start() throws IOException {
        Path work = Env.freshDir("agent/hostile-jmx-load");
        root = Files.createDirectories(work.resolve("adapters"));
        app = App.of("ServeApp").agent("adapter=" + CASE.resolve("default") + ",adapterRoot=" + root)
                .args(CASE, "--step").start(work, "app");
        app.await(0, l -> l.equals("PREDICTOR t=1"), "the Predictor");
        jmx = Jmx.connect(app.pid()).awaitRegistered();
    }

    @AfterAll
    void stop() {
        if (jmx != null) {
            jmx.close();
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void everyMutantIsLoadedOrRefusedNamingItsDirectoryAndTheModelServesAsBefore() throws IOException {
        int count = Integer.getInteger("peft4j.jmxMutants", 20);
        byte[] weights = Files.readAllBytes(VALID.resolve("adapter_model.safetensors"));
        String config = Files.readString(VALID.resolve("adapter_config.json"));
        float[] before = app.step();
        float[] expected = Tensors.values(CASE.resolve("expected_output_default.safetensors"), "output");
        assertTrue(Tensors.close(before, expected, 1e-5), "serving PEFT's output for the default adapter");
        Iterator<UnaryOperator<byte[]>> weightMutants = AdapterMutants.safetensors().sampleStream().iterator();
        Iterator<UnaryOperator<String>> configMutants = AdapterMutants.config().sampleStream().iterator();
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < count; i++) {
            String name = "m" + i;
            Path dir = Files.createDirectories(root.resolve(name));
            boolean mutateConfig = i % 3 == 2;
            Files.write(dir.resolve("adapter_config.json"), (mutateConfig ? configMutants.next().apply(config)
                    : config).getBytes(StandardCharsets.UTF_8));
            Files.write(dir.resolve("adapter_model.safetensors"), mutateConfig ? weights
                    : weightMutants.next().apply(weights.clone()));
            try {
                jmx.invoke("load", name);
                loaded++;
                jmx.invoke("activate", "default");
            } catch (IllegalArgumentException | IllegalStateException e) {
                assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
                refused++;
            }
            float[] after = app.step();
            assertTrue(java.util.Arrays.equals(before, after), () -> "after mutant " + name + " the model serves "
                    + "another output\n" + app.describe());
        }
        System.out.printf("HostileJmxLoadTest: %d mutants through JMX load (%d loaded, %d refused)%n", count, loaded,
                refused);
    }
}

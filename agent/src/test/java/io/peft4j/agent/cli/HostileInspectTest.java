package io.peft4j.agent.cli;

import io.peft4j.config.PeftConfigException;
import io.peft4j.io.SafetensorsException;
import io.peft4j.io.SafetensorsHeader;
import io.peft4j.state.AdapterMutants;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code java -jar peft4j-agent.jar inspect DIR} on hostile adapter directories (jqwik; the mutants of
 * {@code HostileAdapterFilesTest}): it prints the header of a file {@link SafetensorsHeader} accepts, or fails with
 * {@link CommandFailure} naming the file, caused by nothing but the format's own {@link SafetensorsException} or
 * {@link PeftConfigException} — no other exception, and no heap allocation beyond a bound set by the file's size.
 */
class HostileInspectTest {

    private static final Path VALID = Path.of("..", "core", "src", "test", "resources", "golden", "b1_lora_mlp");
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static byte[] validWeights;
    private static String validConfig;
    private static Path dir;
    private static final int[] COUNTS = new int[4];

    @BeforeContainer
    static void setUp() throws IOException {
        validWeights = Files.readAllBytes(VALID.resolve("adapter_model.safetensors"));
        validConfig = Files.readString(VALID.resolve("adapter_config.json"));
        dir = Files.createTempDirectory("peft4j-inspect").toAbsolutePath().normalize();
    }

    @AfterContainer
    static void tearDown() throws IOException {
        System.out.printf("HostileInspectTest: %d safetensors mutants inspected (%d printed, %d refused); "
                + "%d adapter_config.json mutants (%d printed, %d refused)%n", COUNTS[0] + COUNTS[1], COUNTS[0],
                COUNTS[1], COUNTS[2] + COUNTS[3], COUNTS[2], COUNTS[3]);
        Files.deleteIfExists(dir.resolve("adapter_config.json"));
        Files.deleteIfExists(dir.resolve("adapter_model.safetensors"));
        Files.deleteIfExists(dir);
    }

    @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
    void inspectPrintsOrRefusesAMutatedWeightsFile(
            @ForAll(supplier = AdapterMutants.WeightMutants.class) UnaryOperator<byte[]> mutant)
            throws Exception {
        byte[] weights = mutant.apply(validWeights.clone());
        Files.write(dir.resolve("adapter_config.json"), validConfig.getBytes(StandardCharsets.UTF_8));
        Files.write(dir.resolve("adapter_model.safetensors"), weights);
        COUNTS[inspect(weights.length, dir.resolve("adapter_model.safetensors"))]++;
    }

    @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
    void inspectPrintsOrRefusesAMutatedConfig(
            @ForAll(supplier = AdapterMutants.ConfigMutants.class) UnaryOperator<String> mutant)
            throws Exception {
        byte[] config = mutant.apply(validConfig).getBytes(StandardCharsets.UTF_8);
        Files.write(dir.resolve("adapter_config.json"), config);
        Files.write(dir.resolve("adapter_model.safetensors"), validWeights);
        COUNTS[2 + inspect(config.length + validWeights.length, dir.resolve("adapter_config.json"))]++;
    }

    /** 0: printed (and the header reader agrees), 1: refused naming {@code named}. */
    private static int inspect(long fileBytes, Path named) throws Exception {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        long before = THREADS.getCurrentThreadAllocatedBytes();
        int outcome;
        try (PrintStream out = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            new InspectCommand().run(List.of(dir.toString()), out);
            outcome = 0;
        } catch (CommandFailure e) {
            assertTrue(e.getMessage().contains(named.toString()), e.getMessage());
            Throwable cause = e.getCause();
            assertTrue(cause == null || cause instanceof SafetensorsException || cause instanceof PeftConfigException,
                    "refused for a reason other than the format: " + cause);
            outcome = 1;
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        long bound = 64 * fileBytes + (16 << 20);
        assertTrue(allocated <= bound, "inspecting " + fileBytes + " bytes allocated " + allocated + " (bound "
                + bound + ")");
        if (outcome == 0) {
            int tensors = SafetensorsHeader.read(dir.resolve("adapter_model.safetensors")).tensors().size();
            assertTrue(text.toString(StandardCharsets.UTF_8).contains("(" + tensors + " tensors,"), text::toString);
        }
        return outcome;
    }
}

package io.peft4j.state;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile adapter directories (jqwik): every mutant of PEFT's own {@code adapter_model.safetensors} and
 * {@code adapter_config.json} (golden case b1) is either loaded exactly as the file says or refused by
 * {@link Peft#loadAdapter} with {@link AdapterFileException} (the weights) or {@link PeftConfigException} (the
 * config) naming the file; after a refusal nothing stays injected and the model computes bit for bit as before; the
 * Java heap allocated by a load stays within a bound set by the file's size. Tries per property:
 * {@code -Djqwik.tries.default=N} (junit-platform.properties sets the default for {@code mvn verify}).
 */
class HostileAdapterFilesTest {

    private static final Path VALID = GoldenCase.root().resolve("b1_lora_mlp");
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static NDManager manager;
    private static Model model;
    private static Mlp mlp;
    private static NDArray input;
    private static float[] baseline;
    private static byte[] validWeights;
    private static String validConfig;
    private static Path dir;
    private static long validLoadAllocation;
    private static final int[] WEIGHTS = new int[2];
    private static final int[] CONFIGS = new int[2];

    @BeforeContainer
    static void setUp() throws IOException {
        manager = NDManager.newBaseManager();
        model = Model.newInstance("hostile");
        mlp = new Mlp();
        model.setBlock(mlp);
        TorchWeights.load(mlp, VALID.resolve("base_model.safetensors"), model.getNDManager());
        input = manager.randomNormal(new Shape(3, 16));
        baseline = forward();
        validWeights = Files.readAllBytes(VALID.resolve(AdapterDirectory.WEIGHTS_FILE));
        validConfig = Files.readString(VALID.resolve(AdapterDirectory.CONFIG_FILE));
        dir = Files.createTempDirectory("peft4j-hostile");
        write(validConfig.getBytes(StandardCharsets.UTF_8), validWeights);
        for (int i = 0; i < 3; i++) { // warm up, then measure the heap one valid load allocates
            long before = THREADS.getCurrentThreadAllocatedBytes();
            Peft.loadAdapter(mlp, dir, "fuzz");
            validLoadAllocation = THREADS.getCurrentThreadAllocatedBytes() - before;
            Peft.adapters(mlp).orElseThrow().deleteAdapter("fuzz");
        }
    }

    @AfterContainer
    static void tearDown() throws IOException {
        System.out.printf("HostileAdapterFilesTest: %d safetensors mutants tried (%d loaded, %d refused); "
                + "%d adapter_config.json mutants tried (%d loaded, %d refused)%n", WEIGHTS[0] + WEIGHTS[1],
                WEIGHTS[0], WEIGHTS[1], CONFIGS[0] + CONFIGS[1], CONFIGS[0], CONFIGS[1]);
        model.close();
        manager.close();
        for (String f : new String[] {AdapterDirectory.CONFIG_FILE, AdapterDirectory.WEIGHTS_FILE}) {
            Files.deleteIfExists(dir.resolve(f));
        }
        Files.deleteIfExists(dir);
    }

    @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
    void aMutatedWeightsFileIsLoadedExactlyOrRefusedNamingIt(
            @ForAll(supplier = AdapterMutants.WeightMutants.class) UnaryOperator<byte[]> mutant)
            throws IOException {
        byte[] weights = mutant.apply(validWeights.clone());
        write(validConfig.getBytes(StandardCharsets.UTF_8), weights);
        WEIGHTS[loadOrRefuse(weights.length, AdapterFileException.class, AdapterDirectory.WEIGHTS_FILE)]++;
    }

    @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
    void aMutatedConfigIsLoadedExactlyOrRefusedNamingIt(
            @ForAll(supplier = AdapterMutants.ConfigMutants.class) UnaryOperator<String> mutant)
            throws IOException {
        byte[] config = mutant.apply(validConfig).getBytes(StandardCharsets.UTF_8);
        write(config, validWeights);
        CONFIGS[loadOrRefuse(config.length + validWeights.length, null, AdapterDirectory.CONFIG_FILE)]++;
    }

    /** Bug found by this fuzzing: injection allocated 137 GB for r = 2^31 - 1 before the weights were looked at. */
    @Example
    void aConfigClaimingAHugeRankIsRefusedBeforeAllocating() throws IOException {
        byte[] config = validConfig.replace("\"r\": 4,", "\"r\": 2147483647,").getBytes(StandardCharsets.UTF_8);
        write(config, validWeights);
        AdapterFileException e = org.junit.jupiter.api.Assertions.assertThrows(AdapterFileException.class,
                () -> Peft.loadAdapter(mlp, dir, "fuzz"));
        assertEquals(dir.resolve(AdapterDirectory.WEIGHTS_FILE) + ": the config's r = 2147483647 is larger than every"
                + " dimension of this file's tensors (largest 32): the weights cannot fit the adapter; refused before"
                + " injecting it", e.getMessage());
        assertEquals(1, loadOrRefuse(config.length + validWeights.length, null, AdapterDirectory.CONFIG_FILE));
    }

    /**
     * Bug found by this fuzzing: a file whose {@code fc2.lora_A.weight} was renamed {@code head.weight} (a base weight
     * of the same shape) was refused for the missing adapter key only after {@code head.weight} had been copied into
     * the model, and removing the half-loaded adapter did not put it back.
     */
    @Example
    void aRefusedFileWritesNothingNotEvenTheBaseWeightsItNames() throws IOException {
        byte[] weights = validWeights.clone();
        String header = new String(weights, 8, (int) ByteBuffer.wrap(weights, 0, 8).order(ByteOrder.LITTLE_ENDIAN)
                .getLong(), StandardCharsets.ISO_8859_1);
        String renamed = header.replace("\"fc2.lora_A.weight\"", "\"head.weight\"");
        renamed = renamed + " ".repeat(header.length() - renamed.length()); // same header length, data unmoved
        System.arraycopy(renamed.getBytes(StandardCharsets.ISO_8859_1), 0, weights, 8, renamed.length());
        write(validConfig.getBytes(StandardCharsets.UTF_8), weights);
        AdapterFileException e = org.junit.jupiter.api.Assertions.assertThrows(AdapterFileException.class,
                () -> Peft.loadAdapter(mlp, dir, "fuzz"));
        assertEquals(dir.resolve(AdapterDirectory.WEIGHTS_FILE) + ": missing adapter keys [fc2.lora_A.weight] for"
                + " adapter 'fuzz'", e.getMessage());
        assertEquals(1, loadOrRefuse(weights.length, AdapterFileException.class, AdapterDirectory.WEIGHTS_FILE));
    }

    /** Bug found by this fuzzing: the config error raised while matching modules named no file. */
    @Example
    void anErrorRaisedWhileMatchingModulesNamesTheConfigFile() throws IOException {
        write(validConfig.replace("\"target_modules\": [\n    \"fc2\",\n    \"fc1\"\n  ],", "")
                .getBytes(StandardCharsets.UTF_8), validWeights);
        PeftConfigException e = org.junit.jupiter.api.Assertions.assertThrows(PeftConfigException.class,
                () -> Peft.loadAdapter(mlp, dir, "fuzz"));
        assertEquals(dir.resolve(AdapterDirectory.CONFIG_FILE) + ": field \"target_modules\": Please specify"
                + " `target_modules` or `target_parameters`in `peft_config` (target_modules is missing; PEFT fills it"
                + " only for Transformers model types it knows, and DJL models have none)", e.getMessage());
    }

    /** Bug found by this fuzzing (in this change's own first fix): a target matching nothing lost its type. */
    @Example
    void targetsMatchingNothingNameTheConfigFileAndKeepTheirType() throws IOException {
        write(validConfig.replace("\"fc2\",\n    \"fc1\"", "\"nosuch\"").getBytes(StandardCharsets.UTF_8),
                validWeights);
        io.peft4j.match.TargetsNotFoundException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.peft4j.match.TargetsNotFoundException.class, () -> Peft.loadAdapter(mlp, dir, "fuzz"));
        assertEquals(dir.resolve(AdapterDirectory.CONFIG_FILE) + ": Target modules {'nosuch'} not found in the base"
                + " model. Please check the target modules and try again. The model's module paths nearest to it:"
                + " 'fc1', 'relu1', 'fc2', 'relu2', 'head' (5 of 5 leaf modules; every path: java -jar"
                + " peft4j-agent.jar tree --help, jmx <pid> tree for a running JVM, or Peft.moduleTree(model)).",
                e.getMessage());
        assertEquals("Target modules {'nosuch'} not found in the base model. Please check the target modules and try"
                + " again.", e.peftMessage());
    }

    /** Bug found by this fuzzing: an IA3 config's {@code layers_pattern} (no IA3 field) threw ClassCastException. */
    @Example
    void keysTheConfigClassDoesNotDefineAreIgnoredWhateverTheirType() {
        io.peft4j.config.AdapterConfig config = io.peft4j.config.AdapterConfigs.parse("{\"peft_type\": \"IA3\","
                + " \"target_modules\": [\"fc1\"], \"layers_pattern\": 18446744073709551617,"
                + " \"layers_to_transform\": \"x\"}", "ia3.json");
        assertEquals(java.util.List.of("layers_pattern", "layers_to_transform"), config.unknownKeys());
        assertEquals(null, config.layersPattern());
        assertEquals(null, config.layersToTransform());
    }

    /**
     * Loads the mutant directory; returns 0 when it loaded (and checks it holds the file's values), 1 when it was
     * refused (and checks the refusal). {@code weightsError} is the one exception type allowed besides
     * {@link PeftConfigException}, or {@code null} to allow {@link AdapterFileException} too.
     */
    private static int loadOrRefuse(long fileBytes, Class<?> weightsError, String named) throws IOException {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        RuntimeException refusal = null;
        try {
            Peft.loadAdapter(mlp, dir, "fuzz");
        } catch (PeftConfigException | AdapterFileException e) {
            refusal = e;
        } catch (RuntimeException | Error e) {
            throw new AssertionError("a hostile file must be refused with AdapterFileException or "
                    + "PeftConfigException, not " + e, e);
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        long bound = 4 * validLoadAllocation + 64 * fileBytes + (1 << 20);
        assertTrue(allocated <= bound, "loading a " + fileBytes + "-byte adapter allocated " + allocated
                + " heap bytes (bound " + bound + ")");
        if (refusal == null) {
            checkLoadedAsTheFileSays();
            io.peft4j.config.AdapterConfig loaded = io.peft4j.config.AdapterConfigs.read(dir);
            Peft.adapters(mlp).orElseThrow().deleteAdapter("fuzz");
            // PiSSA and OLoRA replaced W by the residual W - s*B0@A0 and give W back as W_res + s*B0@A0, equal to W up
            // to float rounding (LoraLinear.close); every other adapter leaves W untouched, so the model is restored
            // bit for bit (a mutant setting init_lora_weights to "olora" found this in CI)
            boolean residual = loaded instanceof io.peft4j.lora.LoraConfig
                    && ((io.peft4j.lora.LoraConfig) loaded).initLoraWeights().changesBaseWeights();
            float[] after = forward();
            if (residual) {
                GoldenCase.assertClose(baseline, after, 1e-6, "deleting a residual adapter restores the model");
                baseline = after; // the model as the next mutant finds it
            } else {
                assertArrayEquals(baseline, after, 0f, "deleting the adapter restores the model");
            }
            return 0;
        }
        if (weightsError != null && refusal instanceof AdapterFileException) {
            assertTrue(refusal.getMessage().contains(dir.resolve(named).toString()), refusal.getMessage());
        } else if (refusal instanceof PeftConfigException) {
            assertTrue(refusal.getMessage().contains(dir.resolve(AdapterDirectory.CONFIG_FILE).toString()),
                    refusal.getMessage());
        } else if (refusal instanceof AdapterFileException) {
            // a config that parses but does not fit the weights (r, target_modules): the weights file is named
            assertTrue(refusal.getMessage().contains(dir.toString()), refusal.getMessage());
        }
        assertEquals(java.util.List.of(), Peft.adapters(mlp).orElseThrow().adapterNames(), "nothing stays injected");
        assertArrayEquals(baseline, forward(), 0f, "a refused adapter leaves the model exactly as before");
        return 1;
    }

    /** Every key of the file the model uses holds the file's values, and the adapted model runs. */
    private static void checkLoadedAsTheFileSays() throws IOException {
        Map<String, NDArray> loaded = Peft.getStateDict(mlp, "fuzz");
        SafetensorsFile file = SafetensorsFile.read(dir.resolve(AdapterDirectory.WEIGHTS_FILE));
        try (NDManager scratch = manager.newSubManager()) {
            for (Map.Entry<String, NDArray> e : loaded.entrySet()) {
                if (!file.contains(e.getKey())) {
                    continue; // e.g. a config naming a key not in the file (an init), already refused when needed
                }
                TensorData tensor = file.get(e.getKey());
                // as PEFT's load_state_dict: values converted to the parameter's type (an I32 tensor loads too)
                NDArray expected = TensorArrays.toNDArray(tensor.dtype() == io.peft4j.io.SafetensorsDType.BF16
                        ? tensor.toFloat32() : tensor, scratch).toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
                assertArrayEquals(expected.toFloatArray(), e.getValue().toType(ai.djl.ndarray.types.DataType
                        .FLOAT32, false).toFloatArray(), 0f, e.getKey());
            }
        }
        Peft.adapters(mlp).orElseThrow().setActiveAdapters(java.util.List.of("fuzz"));
        assertEquals(baseline.length, forward().length, "a loaded adapter computes");
    }

    private static float[] forward() {
        return mlp.forward(new ParameterStore(manager, false), new NDList(input), false).head().toFloatArray();
    }

    private static void write(byte[] config, byte[] weights) throws IOException {
        Files.write(dir.resolve(AdapterDirectory.CONFIG_FILE), config);
        Files.write(dir.resolve(AdapterDirectory.WEIGHTS_FILE), weights);
    }
}

package io.peft4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.testmodels.GoldenModels;
import io.peft4j.testmodels.TorchWeights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One case folder of the PEFT 0.20.0 golden data: its files, its DJL twin with base weights, and comparisons. */
public final class GoldenCase {

    private final Path dir;
    private final JsonNode caseJson;

    private GoldenCase(Path dir) {
        this.dir = dir;
        try {
            this.caseJson = new ObjectMapper().readTree(dir.resolve("case.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The golden root folder. */
    public static Path root() {
        return Path.of(System.getProperty("peft4j.golden.dir", "src/test/resources/golden"));
    }

    /** The case called {@code name}. */
    public static GoldenCase named(String name) {
        return new GoldenCase(root().resolve(name));
    }

    /**
     * The edge case called {@code name}, from PEFT 0.20.0's less-trodden paths ({@code golden-edge}, beside the main
     * cases; a copy of the cases of {@code peft-0.20.0-edge} that tests use).
     */
    public static GoldenCase edge(String name) {
        return new GoldenCase(root().resolveSibling("golden-edge").resolve(name));
    }

    /** The case folder. */
    public Path dir() {
        return dir;
    }

    /** A file of the case. */
    public Path file(String name) {
        return dir.resolve(name);
    }

    /** case.json. */
    public JsonNode json() {
        return caseJson;
    }

    /** The DJL twin of the case's model with PEFT's base weights loaded. */
    public Block buildBaseModel(NDManager manager) throws IOException {
        Block block = GoldenModels.build(caseJson.get("model").asText(), dir);
        TorchWeights.load(block, dir.resolve("base_model.safetensors"), manager);
        return block;
    }

    /** The case's input. */
    public NDArray input(NDManager manager) throws IOException {
        return TensorArrays.toNDArray(SafetensorsFile.read(dir.resolve("input.safetensors")).get("input"), manager);
    }

    /** Tensor {@code output} of {@code file}. */
    public float[] expected(String file) throws IOException {
        return SafetensorsFile.read(dir.resolve(file)).get("output").toFloatArray();
    }

    /** Runs an inference forward pass of {@code block}. */
    public static float[] forward(Block block, NDArray input, NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = input.duplicate();
            x.attach(scope);
            NDList out = block.forward(new ParameterStore(scope, false), new NDList(x), false);
            return out.head().toFloatArray();
        }
    }

    /** Asserts element-wise closeness with a message giving the largest difference. */
    public static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertTrue(expected.length == actual.length, what + ": length " + actual.length + " != " + expected.length);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs((double) expected[i] - actual[i]));
        }
        assertTrue(max <= tolerance, what + ": max |diff| " + max + " > " + tolerance);
    }

    /** The lines of a text file of the case. */
    public List<String> lines(String file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(file))) {
            if (!line.isBlank()) {
                out.add(line);
            }
        }
        return out;
    }

    /** Asserts two float arrays are identical bit for bit. */
    public static void assertIdentical(float[] expected, float[] actual, String what) {
        assertArrayEquals(expected, actual, 0f, what);
    }
}

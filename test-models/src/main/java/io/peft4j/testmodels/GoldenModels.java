package io.peft4j.testmodels;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the DJL twin of a golden case's model by its PyTorch class name ({@code case.json} "model"). */
public final class GoldenModels {

    /**
     * The model names {@link #build(String)} knows, as written in {@code case.json}; {@link #build(String, Path)}
     * also builds {@code ClsMLP} (a DistilBERT-style classifier) from a case's sizes.
     */
    public static final List<String> NAMES = List.of("DummyModel", "MLP", "ConvNet");

    private GoldenModels() {}

    /**
     * Builds the twin of a case's model with the sizes of its {@code base_model.safetensors} (widths, channels,
     * vocabulary) and {@code input.safetensors}, so cases made with other shapes work too.
     *
     * @param modelName "DummyModel", "MLP" or "ConvNet"
     * @param caseDir the case folder
     * @return the twin block, uninitialized
     * @throws IOException when the files cannot be read
     */
    public static Block build(String modelName, Path caseDir) throws IOException {
        Map<String, long[]> w = shapes(caseDir.resolve("base_model.safetensors"));
        long[] in = shapes(caseDir.resolve("input.safetensors")).get("input");
        switch (modelName) {
            case "DummyModel":
                return new DummyModel((int) w.get("embedding.weight")[0], (int) w.get("embedding.weight")[1],
                        (int) w.get("linear.weight")[0], (int) w.get("lm_head.weight")[0], new Shape(in));
            case "MLP":
                return new Mlp((int) w.get("fc1.weight")[1], (int) w.get("fc1.weight")[0],
                        (int) w.get("fc2.weight")[0], (int) w.get("head.weight")[0]);
            case "ConvNet":
                return new ConvNet((int) w.get("conv1.weight")[0], (int) w.get("conv2.weight")[0],
                        (int) w.get("head.weight")[0], new Shape(in));
            case "ClsMLP":
                return Mlp.classifier((int) w.get("fc1.weight")[1], (int) w.get("fc1.weight")[0],
                        (int) w.get("pre_classifier.weight")[0], (int) w.get("classifier.weight")[0]);
            default:
                return build(modelName);
        }
    }

    /** Tensor shapes by name from a safetensors header. */
    static Map<String, long[]> shapes(Path file) throws IOException {
        try (InputStream is = Files.newInputStream(file)) {
            byte[] len = is.readNBytes(8);
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (len.length < 8 || n <= 0 || n > 100_000_000L) {
                throw new IOException(file + ": not a safetensors file");
            }
            JsonObject header = JsonParser.parseString(new String(is.readNBytes((int) n), StandardCharsets.UTF_8))
                    .getAsJsonObject();
            Map<String, long[]> out = new LinkedHashMap<>();
            for (String key : header.keySet()) {
                if (key.equals("__metadata__")) {
                    continue;
                }
                var dims = header.getAsJsonObject(key).getAsJsonArray("shape");
                long[] shape = new long[dims.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = dims.get(i).getAsLong();
                }
                out.put(key, shape);
            }
            return out;
        }
    }

    /**
     * Builds a fresh, uninitialized twin with the golden sizes; {@link #build(String, Path)} takes the sizes from a
     * case's {@code base_model.safetensors} and {@code input.safetensors} instead.
     *
     * @param modelName "DummyModel", "MLP" or "ConvNet"
     * @return the twin block (a {@link TwinBlock})
     * @throws IllegalArgumentException for any other name
     */
    public static Block build(String modelName) {
        switch (modelName) {
            case "DummyModel":
                return new DummyModel();
            case "MLP":
                return new Mlp();
            case "ConvNet":
                return new ConvNet();
            default:
                throw new IllegalArgumentException(
                        "Unknown golden model '" + modelName + "', expected one of " + NAMES);
        }
    }
}

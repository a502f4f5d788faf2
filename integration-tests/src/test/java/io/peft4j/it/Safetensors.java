package io.peft4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal safetensors reader for the tests (independent of peft4j's own): 8-byte little-endian header length, a
 * JSON header, then raw little-endian data. Only F32 tensors are decoded to floats; every tensor keeps its raw bytes
 * so that tests can check bit identity.
 */
final class Safetensors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private Safetensors(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Reads a whole file.
     *
     * @param file the safetensors file
     * @return its tensors, in header order
     * @throws IOException if the file cannot be read or is malformed
     */
    static Safetensors read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 8) {
            throw new IOException(file + ": too short for a safetensors file (" + bytes.length + " bytes)");
        }
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || 8 + headerLength > bytes.length) {
            throw new IOException(file + ": bad header length " + headerLength);
        }
        JsonNode header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        int dataStart = 8 + (int) headerLength;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode info = e.getValue();
            String dtype = info.path("dtype").asText();
            List<Long> shapeList = new ArrayList<>();
            info.path("shape").forEach(d -> shapeList.add(d.asLong()));
            long[] shape = shapeList.stream().mapToLong(Long::longValue).toArray();
            long begin = info.path("data_offsets").path(0).asLong(-1);
            long end = info.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end < begin || dataStart + end > bytes.length) {
                throw new IOException(file + ": tensor " + e.getKey() + " has bad data_offsets " + info);
            }
            byte[] raw = Arrays.copyOfRange(bytes, dataStart + (int) begin, dataStart + (int) end);
            tensors.put(e.getKey(), new Tensor(e.getKey(), dtype, shape, raw));
        }
        return new Safetensors(file, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    /** The file this was read from. */
    Path file() {
        return file;
    }

    /** Tensor names in header order. */
    List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }

    /** Every tensor by name. */
    Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} entries. */
    Map<String, String> metadata() {
        return metadata;
    }

    /**
     * One tensor, or an assertion error naming the file and the tensors it does have.
     *
     * @param name the tensor name
     * @return the tensor
     */
    Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new AssertionError("no tensor '" + name + "' in " + file + " (has " + tensors.keySet() + ")");
        }
        return t;
    }

    /**
     * One tensor of a safetensors file.
     *
     * @param name its name
     * @param dtype the safetensors dtype, e.g. F32
     * @param shape its shape
     * @param raw its little-endian data bytes
     */
    record Tensor(String name, String dtype, long[] shape, byte[] raw) {

        /** The values of an F32 tensor. */
        float[] floats() {
            if (!"F32".equals(dtype)) {
                throw new AssertionError("tensor " + name + " is " + dtype + ", not F32");
            }
            float[] values = new float[raw.length / 4];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            return values;
        }

        /** Whether {@code other} has the same dtype, shape and exactly the same bytes. */
        boolean bitIdentical(Tensor other) {
            return dtype.equals(other.dtype) && Arrays.equals(shape, other.shape) && Arrays.equals(raw, other.raw);
        }

        /** The number of elements. */
        long size() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }
}

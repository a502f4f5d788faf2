package io.peft4j.it;

import io.peft4j.io.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file as the tests look at it, read with peft4j's codec ({@link SafetensorsFile}, which needs no DJL):
 * tensors by name with their dtype, shape and raw little-endian bytes, so that tests can check bit identity.
 */
final class Safetensors {

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
        SafetensorsFile read = SafetensorsFile.read(file);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        read.tensors().forEach((name, t) -> tensors.put(name, new Tensor(name, t.dtype().name(), t.shape(),
                t.toByteArray())));
        return new Safetensors(file, Collections.unmodifiableMap(tensors), read.metadata());
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

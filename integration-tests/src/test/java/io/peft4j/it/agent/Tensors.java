package io.peft4j.it.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors the tests compare, read independently of peft4j: safetensors files (F32 only, with raw bytes kept for
 * bit identity) and the {@code OUT t=T n=N v1,v2,...} lines the test applications print.
 */
final class Tensors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Tensors() {}

    /** One tensor. */
    record Tensor(String dtype, long[] shape, byte[] raw, float[] values) {
        @Override
        public String toString() {
            return dtype + Arrays.toString(shape);
        }
    }

    /** Every tensor of a safetensors file, by name. */
    static Map<String, Tensor> read(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
            int start = 8 + (int) headerLength;
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                if ("__metadata__".equals(e.getKey())) {
                    continue;
                }
                JsonNode t = e.getValue();
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.get("shape").get(i).asLong();
                }
                int from = start + t.get("data_offsets").get(0).asInt();
                int to = start + t.get("data_offsets").get(1).asInt();
                byte[] raw = Arrays.copyOfRange(bytes, from, to);
                float[] values = null;
                if ("F32".equals(t.get("dtype").asText())) {
                    values = new float[raw.length / 4];
                    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
                }
                out.put(e.getKey(), new Tensor(t.get("dtype").asText(), shape, raw, values));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The values of tensor {@code name} of {@code file}. */
    static float[] values(Path file, String name) {
        Tensor t = read(file).get(name);
        if (t == null) {
            throw new IllegalStateException("no tensor " + name + " in " + file);
        }
        return t.values();
    }

    /** The L2 norm of all the values of all the tensors of {@code file}. */
    static double l2Norm(Path file) {
        double sum = 0;
        for (Tensor t : read(file).values()) {
            for (float v : t.values()) {
                sum += (double) v * v;
            }
        }
        return Math.sqrt(sum);
    }

    /** Whether {@code a} and {@code b} have the same length and differ by at most {@code tolerance} everywhere. */
    static boolean close(float[] a, float[] b, double tolerance) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (!(Math.abs(a[i] - b[i]) <= tolerance)) {
                return false;
            }
        }
        return true;
    }

    /** The largest absolute difference. */
    static double maxAbsDiff(float[] a, float[] b) {
        double max = a.length == b.length ? 0 : Double.POSITIVE_INFINITY;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** An output line of a test application: thread, batch number, values. */
    record Out(int thread, int batch, float[] values) {}

    /** Whether {@code line} is an output line. */
    static boolean isOut(String line) {
        return line.startsWith("OUT ");
    }

    /** Parses {@code OUT t=T n=N v1,v2,...}. */
    static Out parse(String line) {
        String[] parts = line.split(" ");
        if (parts.length != 4 || !"OUT".equals(parts[0])) {
            throw new IllegalArgumentException("not an output line: " + line);
        }
        String[] items = parts[3].split(",");
        float[] values = new float[items.length];
        for (int i = 0; i < items.length; i++) {
            values[i] = Float.parseFloat(items[i]);
        }
        return new Out(Integer.parseInt(parts[1].substring(2)), Integer.parseInt(parts[2].substring(2)), values);
    }

    /** Names which of the {@code expected} outputs {@code actual} equals (within 1e-5), or null. */
    static String classify(float[] actual, Map<String, float[]> expected) {
        return classify(actual, expected, 1e-5);
    }

    /** Names which of the {@code expected} outputs {@code actual} equals (within {@code tolerance}), or null. */
    static String classify(float[] actual, Map<String, float[]> expected, double tolerance) {
        String found = null;
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            if (close(actual, e.getValue(), tolerance)) {
                if (found != null) {
                    throw new IllegalStateException("expected outputs " + found + " and " + e.getKey()
                            + " cannot be told apart");
                }
                found = e.getKey();
            }
        }
        return found;
    }

    /** The output lines of {@code lines}. */
    static List<Out> outs(List<String> lines) {
        return lines.stream().filter(Tensors::isOut).map(Tensors::parse).toList();
    }
}

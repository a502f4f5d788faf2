package io.peft4j.testmodels;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes arrays as a safetensors file: 8-byte little-endian header length, compact JSON header padded with spaces
 * to a multiple of 8, then the little-endian tensor bytes in map order.
 *
 * <p>The applications' own writer, apart from peft4j's codec ({@code io.peft4j.io}) on purpose: these applications
 * never reference peft4j, and DJL's encoder ({@code NDList.encode(SAFETENSORS)}) does not keep the tensors' order
 * (six parameters came back in hash order), which the tests of the applications' files rely on.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {}

    /**
     * Writes the named arrays (F32, F64, I64, I32 or any one-byte type), replacing {@code file}.
     *
     * @param file the target file; parent directories are created
     * @param tensors tensor name to array, written in iteration order
     * @throws IOException if writing fails
     */
    public static void write(Path file, Map<String, NDArray> tensors) throws IOException {
        JsonObject header = new JsonObject();
        List<byte[]> payloads = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray array = e.getValue();
            byte[] data = littleEndianBytes(array);
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", array.getDataType().asSafetensors());
            JsonArray shape = new JsonArray();
            for (long d : array.getShape().getShape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + data.length);
            entry.add("data_offsets", offsets);
            header.add(e.getKey(), entry);
            payloads.add(data);
            offset += data.length;
        }
        StringBuilder json = new StringBuilder(new Gson().toJson(header));
        while (json.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
            json.append(' ');
        }
        byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        try (OutputStream os = Files.newOutputStream(file)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).array());
            os.write(headerBytes);
            for (byte[] data : payloads) {
                os.write(data);
            }
        }
    }

    private static byte[] littleEndianBytes(NDArray array) {
        DataType type = array.getDataType();
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(array.size() * type.getNumOfBytes()))
                .order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FLOAT32:
                buf.asFloatBuffer().put(array.toFloatArray());
                break;
            case FLOAT64:
                buf.asDoubleBuffer().put(array.toDoubleArray());
                break;
            case INT64:
                buf.asLongBuffer().put(array.toLongArray());
                break;
            case INT32:
                buf.asIntBuffer().put(array.toIntArray());
                break;
            default:
                if (type.getNumOfBytes() != 1) {
                    throw new IllegalArgumentException("Unsupported dtype for safetensors writing: " + type);
                }
                buf.put(array.toByteArray());
        }
        return buf.array();
    }
}

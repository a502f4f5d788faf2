package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The writer's bytes, checked against expectations derived by hand from the reference Rust
 * implementation ({@code safetensors/src/tensor.rs}: {@code prepare}, the {@code Dtype} enum and
 * its unit tests), never against output of the code under test.
 */
class SafetensorsWriterFormatTest {
    private static final long[] ONE = {1};

    /** {@code test_serialization} of tensor.rs: a 64-byte header needs no padding. */
    @Test
    void matchesRustTestSerialization() {
        TensorData attn = TensorData.ofFloats(new long[] {1, 2, 3}, 0f, 1f, 2f, 3f, 4f, 5f);

        byte[] bytes = SafetensorsWriter.serialize(Map.of("attn.0", attn), null);

        String header =
                "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        byte[] data = {
            0,
            0,
            0,
            0,
            0,
            0,
            (byte) 128,
            63,
            0,
            0,
            0,
            64,
            0,
            0,
            64,
            64,
            0,
            0,
            (byte) 128,
            64,
            0,
            0,
            (byte) 160,
            64
        };
        assertArrayEquals(file(64, header, data), bytes);
    }

    /** {@code test_serialization_forced_alignement} of tensor.rs: 65 header bytes pad to 72. */
    @Test
    void matchesRustForcedAlignment() {
        TensorData attn = TensorData.ofFloats(new long[] {1, 1, 2, 3}, 0f, 1f, 2f, 3f, 4f, 5f);

        byte[] bytes = SafetensorsWriter.serialize(Map.of("attn0", attn), Map.of());

        String header =
                "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}      "
                    + " ";
        assertEquals(72, header.length());
        assertArrayEquals(file(72, header, attn.toByteArray()), bytes);
    }

    /** {@code test_empty} of tensor.rs, without and with metadata. */
    @Test
    void matchesRustEmpty() {
        assertArrayEquals(
                file(8, "{}      ", new byte[0]), SafetensorsWriter.serialize(Map.of(), null));
        assertArrayEquals(
                file(40, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]),
                SafetensorsWriter.serialize(Map.of(), Map.of("framework", "pt")));
    }

    /**
     * Mixed dtypes: the Rust enum order is BOOL < ... < F16 < ... < F32 < C64 < F64 < I64 < U64,
     * and tensors are laid out by descending dtype, then by name. So I64 comes before F64, F64
     * before F32, the two F32 tensors by name, then F16, then BOOL.
     */
    @Test
    void mixedDtypesFollowRustOrder() {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put(
                "mask", TensorData.of(SafetensorsDType.BOOL, new long[] {3}, new byte[] {1, 0, 1}));
        tensors.put("weight", TensorData.ofFloats(new long[] {2}, 2f, -2f));
        tensors.put(
                "half",
                TensorData.of(
                        SafetensorsDType.F16,
                        new long[] {2},
                        new byte[] {0, 0x3C, 0, (byte) 0xC0}));
        tensors.put("ids", TensorData.ofLongs(new long[] {2}, 1, 2));
        tensors.put("bias", TensorData.ofFloats(ONE, 1f));
        tensors.put("dbl", TensorData.of(SafetensorsDType.F64, ONE, littleEndianDouble(0.5)));

        byte[] bytes = SafetensorsWriter.serialize(tensors, Map.of("format", "pt"));

        String header =
                "{\"__metadata__\":{\"format\":\"pt\"},"
                        + "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                        + "\"dbl\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                        + "\"bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]},"
                        + "\"weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[28,36]},"
                        + "\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[36,40]},"
                        + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[40,43]}}"
                        + "    ";
        byte[] data = {
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
            0,
            0,
            0,
            0, // ids
            0,
            0,
            0,
            0,
            0,
            0,
            (byte) 0xE0,
            0x3F, // dbl 0.5
            0,
            0,
            (byte) 0x80,
            0x3F, // bias 1.0
            0,
            0,
            0,
            0x40,
            0,
            0,
            0,
            (byte) 0xC0, // weight 2.0, -2.0
            0,
            0x3C,
            0,
            (byte) 0xC0, // half 1.0, -2.0
            1,
            0,
            1 // mask
        };
        assertArrayEquals(file(384, header, data), bytes);
    }

    /** The full descending order of the Rust {@code Dtype} enum, written out by hand. */
    @Test
    void everyDtypeInRustOrder() {
        Map<String, TensorData> tensors = new HashMap<>();
        for (SafetensorsDType dtype : SafetensorsDType.values()) {
            tensors.put("x" + dtype.name(), TensorData.of(dtype, new long[] {0}, new byte[0]));
        }

        List<String> names = readBack(SafetensorsWriter.serialize(tensors, null));

        assertEquals(
                List.of(
                        "xU64",
                        "xI64",
                        "xF64",
                        "xC64",
                        "xF32",
                        "xU32",
                        "xI32",
                        "xBF16",
                        "xF16",
                        "xU16",
                        "xI16",
                        "xF8_E5M2FNUZ",
                        "xF8_E4M3FNUZ",
                        "xF8_E8M0",
                        "xF8_E4M3",
                        "xF8_E5M2",
                        "xI8",
                        "xU8",
                        "xBOOL"),
                names);
    }

    /** Rust compares names as UTF-8 bytes: code point order, unlike Java's UTF-16 compareTo. */
    @Test
    void namesSortByCodePoint() {
        List<String> expected = List.of("B", "a", "b", "\u00e9", "\ufffd", "\ud83d\ude00");
        Map<String, TensorData> tensors = new HashMap<>();
        for (String name : expected) {
            tensors.put(name, TensorData.ofFloats(ONE, 0f));
        }

        assertEquals(expected, readBack(SafetensorsWriter.serialize(tensors, null)));
    }

    /** serde_json escapes only quote, backslash and control characters, with lowercase hex. */
    @Test
    void escapesStringsLikeSerdeJson() {
        String name = "q\"b\\s/\n\u0001\u00e9";
        Map<String, TensorData> tensors =
                Map.of(name, TensorData.of(SafetensorsDType.U8, new long[] {}, new byte[] {7}));

        byte[] bytes =
                SafetensorsWriter.serialize(tensors, Map.of("note", "tab\there\u007f\u001f"));

        String header =
                "{\"__metadata__\":{\"note\":\"tab\\there\u007f\\u001f\"},"
                        + "\"q\\\"b\\\\s/\\n\\u0001\u00e9\":{\"dtype\":\"U8\",\"shape\":[],"
                        + "\"data_offsets\":[0,1]}}";
        int length = header.getBytes(StandardCharsets.UTF_8).length;
        int padded = (length + 7) / 8 * 8;
        assertArrayEquals(
                file(padded, header + " ".repeat(padded - length), new byte[] {7}), bytes);
        assertEquals(List.of(name), readBack(bytes));
    }

    @Test
    void emptyAndNullMetadataWriteNoMetadataKey() {
        Map<String, TensorData> tensors = Map.of("a", TensorData.ofFloats(ONE, 1f));
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}  ";
        byte[] expected = file(56, header, new byte[] {0, 0, (byte) 0x80, 0x3F});

        assertArrayEquals(expected, SafetensorsWriter.serialize(tensors, null));
        assertArrayEquals(expected, SafetensorsWriter.serialize(tensors, Map.of()));
    }

    @Test
    void metadataKeepsMapOrder() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("z", "1");
        metadata.put("a", "2");

        byte[] bytes = SafetensorsWriter.serialize(Map.of(), metadata);

        assertArrayEquals(
                file(40, "{\"__metadata__\":{\"z\":\"1\",\"a\":\"2\"}}      ", new byte[0]), bytes);
    }

    @Test
    void rejectsReservedTensorName() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                SafetensorsWriter.serialize(
                                        Map.of("__metadata__", TensorData.ofFloats(ONE, 1f)),
                                        null));
        assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
    }

    @Test
    void rejectsUnpairedSurrogate() {
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        SafetensorsWriter.serialize(
                                Map.of("bad\ud800", TensorData.ofFloats(ONE, 1f)), null));
    }

    /** Length prefix, header and data, the expected file built from parts. */
    private static byte[] file(long headerLength, String header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(
                ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(headerLength)
                        .array());
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        assertEquals(headerLength, headerBytes.length, "test expectation: header length");
        out.writeBytes(headerBytes);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static byte[] littleEndianDouble(double value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(value).array();
    }

    /** Tensor names in header order, parsed independently of the reader under test. */
    private static List<String> readBack(byte[] bytes) {
        try {
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            String json = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            JsonNode root = new ObjectMapper().readTree(json);
            List<String> names = new ArrayList<>();
            root.fieldNames().forEachRemaining(names::add);
            names.remove("__metadata__");
            return names;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}

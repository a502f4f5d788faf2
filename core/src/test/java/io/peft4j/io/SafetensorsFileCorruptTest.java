package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Malformed files are rejected with an error that names the file and, if any, the tensor. */
class SafetensorsFileCorruptTest {
    @TempDir Path dir;

    @Test
    void emptyFile() throws IOException {
        Path file = write(new byte[0]);
        assertRejected(file, null, "0 bytes, shorter than the 8-byte header length");
    }

    @Test
    void fileShorterThanLengthPrefix() throws IOException {
        Path file = write(new byte[7]);
        assertRejected(file, null, "7 bytes, shorter than the 8-byte header length");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path file = write(concat(prefix(1000), "{}".getBytes(StandardCharsets.UTF_8)));
        assertRejected(file, null, "header length 1000 is larger than the 2 bytes that follow");
    }

    @Test
    void headerLengthOverLimit() throws IOException {
        Path file = write(concat(prefix(100_000_001), "{}".getBytes(StandardCharsets.UTF_8)));
        assertRejected(file, null, "header length 100000001 is larger than the limit of 100000000");
    }

    @Test
    void headerLengthOverflowingSignedLong() throws IOException {
        Path file = write(concat(prefix(-1), new byte[8]));
        assertRejected(file, null, "header length 18446744073709551615 is larger than the limit");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] header = {'{', '"', (byte) 0xFF, '"', ':', '1', '}'};
        Path file = write(concat(prefix(header.length), header));
        assertRejected(file, null, "not valid UTF-8");
    }

    @Test
    void truncatedUtf8Sequence() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3};
        Path file = write(concat(prefix(header.length), header));
        assertRejected(file, null, "not valid UTF-8");
    }

    @Test
    void invalidJson() throws IOException {
        // the tensor whose entry the text breaks off in is named
        assertRejected(file("{\"a\":", 0), "a", "not valid JSON: unexpected end of the text, expected a value");
        assertRejected(file("{\"a\"", 0), "a", "not valid JSON: expected ':' after the key \"a\"");
    }

    @Test
    void headerNotAnObject() throws IOException {
        assertRejected(file("[]", 0), null, "not a JSON object");
    }

    @Test
    void contentAfterHeaderObject() throws IOException {
        assertRejected(file("{} {}", 0), null, "unexpected content after the header's JSON object");
    }

    @Test
    void missingDtype() throws IOException {
        assertRejected(
                file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "w",
                "missing \"dtype\"");
    }

    @Test
    void missingShape() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4),
                "w",
                "missing \"shape\"");
    }

    @Test
    void missingDataOffsets() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
                "w",
                "missing \"data_offsets\"");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "w",
                "unknown or unsupported safetensors dtype \"F128\"");
    }

    @Test
    void subByteDtypeUnsupported() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1),
                "w",
                "unsupported safetensors dtype \"F4\"");
    }

    @Test
    void unknownField() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4),
                "w",
                "unknown field \"x\"");
    }

    @Test
    void offsetsNotMatchingShape() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
                "w",
                "span 4 bytes but shape [2] of F32 needs 8");
    }

    @Test
    void offsetsOutOfBounds() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
                "w",
                "out of bounds of the 4-byte data buffer");
    }

    @Test
    void offsetsReversed() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4),
                "w",
                "end before they begin");
    }

    @Test
    void wrongNumberOfOffsets() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4),
                "w",
                "must hold 2 numbers, not 3");
    }

    @Test
    void overlappingTensors() throws IOException {
        String header =
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertRejected(file(header, 12), "b", "overlap tensor \"a\"");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        String header =
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertRejected(file(header, 12), "b", "data bytes [4, 8) belong to no tensor");
    }

    @Test
    void firstTensorNotAtZero() throws IOException {
        assertRejected(
                file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
                "a",
                "data bytes [0, 4) belong to no tensor");
    }

    @Test
    void trailingBytesNotCovered() throws IOException {
        assertRejected(
                file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8),
                null,
                "the tensors cover 4 bytes but the data buffer has 8");
    }

    @Test
    void negativeDimension() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
                "w",
                "\"shape\" holds the negative number -1");
    }

    @Test
    void fractionalDimension() throws IOException {
        assertRejected(
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4),
                "w",
                "\"shape\" holds 1.5, not an integer");
    }

    @Test
    void dimensionBeyondLong() throws IOException {
        assertRejected(
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}",
                        4),
                "w",
                "too large");
    }

    @Test
    void shapeOverflowingSize() throws IOException {
        assertRejected(
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
                        0),
                "w",
                "overflows a 64-bit size");
    }

    @Test
    void duplicateTensorKey() throws IOException {
        String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertRejected(file("{\"w\":" + entry + ",\"w\":" + entry + "}", 4), "w", "duplicate key");
    }

    @Test
    void duplicateMetadataKey() throws IOException {
        assertRejected(
                file("{\"__metadata__\":{},\"__metadata__\":{}}", 0),
                "__metadata__",
                "duplicate key");
    }

    @Test
    void duplicateFieldInEntry() throws IOException {
        assertRejected(
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        4),
                "w",
                "duplicate field \"dtype\"");
    }

    @Test
    void duplicateEntryInMetadata() throws IOException {
        assertRejected(
                file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0),
                "__metadata__",
                "duplicate metadata key \"k\"");
    }

    @Test
    void nonStringMetadataValue() throws IOException {
        assertRejected(
                file("{\"__metadata__\":{\"k\":1}}", 0),
                "__metadata__",
                "value of \"k\" is not a string");
    }

    @Test
    void tensorOfTwoGibibytesUnsupported() throws IOException {
        long size = 1L << 31;
        Path file =
                file(
                        "{\"big\":{\"dtype\":\"U8\",\"shape\":["
                                + size
                                + "],\"data_offsets\":[0,"
                                + size
                                + "]}}",
                        0);
        try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
            sparse.setLength(sparse.length() + size);
        }
        assertRejected(file, "big", "tensors of 2 GiB or more are not supported");
    }

    @Test
    void absentTensorNamesFileAndKey() throws IOException {
        Path file = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        SafetensorsFile read = SafetensorsFile.read(file);

        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> read.get("v"));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("no tensor \"v\""), e.getMessage());
        assertTrue(e.getMessage().contains("it has 1: w"), e.getMessage());
    }

    @Test
    void unpaddedHeaderAndNullMetadataAreAccepted() throws IOException {
        Path file =
                file(
                        "{\"__metadata__\":null,\"w\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}",
                        3);

        SafetensorsFile read = SafetensorsFile.read(file);

        assertTrue(read.metadata().isEmpty());
        assertEquals(3, read.get("w").byteLength());
    }

    private void assertRejected(Path file, String key, String fragment) {
        SafetensorsException e =
                assertThrows(SafetensorsException.class, () -> SafetensorsFile.read(file));
        String message = e.getMessage();
        assertEquals(file, e.file(), message);
        assertTrue(message.contains(file.toString()), message);
        assertTrue(message.contains(fragment), message);
        if (key == null) {
            assertNull(e.key(), message);
        } else {
            assertEquals(key, e.key(), message);
            assertTrue(message.contains("\"" + key + "\""), message);
        }
    }

    /** A file with this header (unpadded) followed by {@code dataBytes} zero bytes. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return write(concat(concat(prefix(json.length), json), new byte[dataBytes]));
    }

    private Path write(byte[] bytes) throws IOException {
        return Files.write(Files.createTempFile(dir, "corrupt", ".safetensors"), bytes);
    }

    private static byte[] prefix(long headerLength) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLength).array();
    }

    private static byte[] concat(byte[] first, byte[] second) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(first);
        out.writeBytes(second);
        return out.toByteArray();
    }
}

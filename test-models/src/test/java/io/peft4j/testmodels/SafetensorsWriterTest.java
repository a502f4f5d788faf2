package io.peft4j.testmodels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer's layout and a round trip through DJL's decoder. */
class SafetensorsWriterTest {

    @TempDir
    Path tmp;

    @Test
    void writesPaddedHeaderAndLittleEndianDataThatDjlReadsBack() throws Exception {
        Path file = tmp.resolve("t.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("output", manager.create(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.125f}).reshape(2, 3));
            tensors.put("ids", manager.create(new long[] {3, 1, 4}));
            SafetensorsWriter.write(file, tensors);

            byte[] bytes = Files.readAllBytes(file);
            long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, headerLength % 8);
            String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            assertEquals("{\"output\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                    + "\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[24,48]}}", header.trim());
            assertEquals(8 + headerLength + 48, bytes.length);
            assertEquals(1.5f, ByteBuffer.wrap(bytes, 8 + (int) headerLength, 4).order(ByteOrder.LITTLE_ENDIAN)
                    .getFloat());

            Map<String, NDArray> back = TorchWeights.readSafetensors(file, manager);
            assertEquals(List.of("output", "ids"), List.copyOf(back.keySet()));
            assertArrayEquals(tensors.get("output").toFloatArray(), back.get("output").toFloatArray());
            assertArrayEquals(new long[] {2, 3}, back.get("output").getShape().getShape());
            assertArrayEquals(new long[] {3, 1, 4}, back.get("ids").toLongArray());
        }
    }
}

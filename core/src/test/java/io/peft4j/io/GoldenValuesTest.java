package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Golden tensors read by {@link SafetensorsFile} agree with DJL's own safetensors decoder and with
 * numbers printed by numpy from the same file.
 */
class GoldenValuesTest {
    private static final Path BASE_MODEL = GoldenFiles.file("b1_lora_mlp/base_model.safetensors");

    private static NDManager manager;

    @BeforeAll
    static void openManager() {
        manager = Engine.getEngine("PyTorch").newBaseManager();
    }

    @AfterAll
    static void closeManager() {
        manager.close();
    }

    @Test
    void everyTensorMatchesDjlDecoderElementWise() throws IOException {
        SafetensorsFile file = SafetensorsFile.read(BASE_MODEL);
        NDList decoded = NDList.decode(manager, Files.readAllBytes(BASE_MODEL));

        assertEquals(file.size(), decoded.size());
        for (NDArray expected : decoded) {
            TensorData actual = file.get(expected.getName());
            assertArrayEquals(expected.getShape().getShape(), actual.shape(), expected.getName());
            assertEquals(DataType.FLOAT32, expected.getDataType());
            assertArrayEquals(
                    expected.toFloatArray(), actual.toFloatArray(), 0f, expected.getName());
            try (NDArray converted = TensorArrays.toNDArray(actual, manager)) {
                assertTrue(converted.contentEquals(expected), expected.getName());
            }
        }
    }

    @Test
    void headerMatchesPython() throws IOException {
        SafetensorsFile file = SafetensorsFile.read(BASE_MODEL);

        assertEquals(
                List.of(
                        "fc1.bias",
                        "fc1.weight",
                        "fc2.bias",
                        "fc2.weight",
                        "head.bias",
                        "head.weight"),
                file.names());
        assertArrayEquals(new long[] {32, 16}, file.get("fc1.weight").shape());
        assertArrayEquals(new long[] {4, 32}, file.get("head.weight").shape());
        assertEquals(SafetensorsDType.F32, file.get("fc2.weight").dtype());
        assertEquals(1024, file.get("fc2.weight").numel());
    }

    @Test
    void valuesMatchNumpy() throws IOException {
        // Printed by numpy.frombuffer(..., '<f4') from the same file.
        SafetensorsFile file = SafetensorsFile.read(BASE_MODEL);

        float[] fc1Weight = file.get("fc1.weight").toFloatArray();
        assertEquals(-0.0018717050552368164f, fc1Weight[0], 0f);
        assertEquals(0.13411089777946472f, fc1Weight[1], 0f);
        assertEquals(-0.20576128363609314f, fc1Weight[2], 0f);
        assertEquals(0.15456533432006836f, fc1Weight[511], 0f);

        float[] headBias = file.get("head.bias").toFloatArray();
        assertArrayEquals(
                new float[] {
                    0.054621726274490356f,
                    -0.14207617938518524f,
                    0.027756670489907265f,
                    0.14563065767288208f
                },
                headBias,
                0f);

        double sum = 0;
        for (float v : file.get("fc2.weight").toFloatArray()) {
            sum += v;
        }
        assertEquals(-1.036188029247569, sum, 1e-9);
    }

    @Test
    void int64InputMatchesNumpy() throws IOException {
        SafetensorsFile file =
                SafetensorsFile.read(GoldenFiles.file("a_lora_dummy/input.safetensors"));

        TensorData input = file.get("input");

        assertEquals(SafetensorsDType.I64, input.dtype());
        assertArrayEquals(new long[] {1, 8}, input.shape());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7}, input.toLongArray());
    }
}

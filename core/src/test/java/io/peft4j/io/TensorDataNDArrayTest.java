package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/** Conversions between {@link TensorData} and PyTorch-engine {@link NDArray}s. */
class TensorDataNDArrayTest {
    private NDManager manager;

    @BeforeEach
    void openManager() {
        manager = Engine.getEngine("PyTorch").newBaseManager();
    }

    @AfterEach
    void closeManager() {
        manager.close();
    }

    @Test
    void float32ToNDArray() {
        TensorData tensor = TensorData.ofFloats(new long[] {2, 3}, 1f, 2f, 3f, 4f, 5f, -6.5f);

        NDArray array = TensorArrays.toNDArray(tensor, manager);

        assertEquals(DataType.FLOAT32, array.getDataType());
        assertEquals(new Shape(2, 3), array.getShape());
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f, 5f, -6.5f}, array.toFloatArray());
        assertEquals(manager, array.getManager());
    }

    @Test
    void float32FromNDArray() {
        NDArray array = manager.create(new float[][] {{1f, 2f}, {3f, 0.25f}});

        TensorData tensor = TensorArrays.fromNDArray(array);

        assertEquals(TensorData.ofFloats(new long[] {2, 2}, 1f, 2f, 3f, 0.25f), tensor);
        // 1.0f little-endian is 00 00 80 3F.
        assertArrayEquals(
                new byte[] {0, 0, (byte) 0x80, 0x3F},
                Arrays.copyOf(tensor.toByteArray(), 4));
    }

    @Test
    void int64BothWays() {
        NDArray array = manager.create(new long[] {-1L, 1L << 40, 7L}, new Shape(3, 1));

        TensorData tensor = TensorArrays.fromNDArray(array);

        assertEquals(SafetensorsDType.I64, tensor.dtype());
        assertArrayEquals(new long[] {3, 1}, tensor.shape());
        assertArrayEquals(new long[] {-1L, 1L << 40, 7L}, tensor.toLongArray());
        NDArray back = TensorArrays.toNDArray(tensor, manager);
        assertEquals(DataType.INT64, back.getDataType());
        assertArrayEquals(new long[] {-1L, 1L << 40, 7L}, back.toLongArray());
    }

    @Test
    void int32BothWays() {
        NDArray array = manager.create(new int[] {-2, 0, 65536});

        TensorData tensor = TensorArrays.fromNDArray(array);

        assertEquals(SafetensorsDType.I32, tensor.dtype());
        assertArrayEquals(
                new byte[] {-2, -1, -1, -1, 0, 0, 0, 0, 0, 0, 1, 0}, tensor.toByteArray());
        assertArrayEquals(new int[] {-2, 0, 65536}, TensorArrays.toNDArray(tensor, manager).toIntArray());
    }

    @Test
    void float16BothWays() {
        // IEEE half: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800.
        NDArray array = manager.create(new float[] {1f, -2f, 0.5f}).toType(DataType.FLOAT16, false);

        TensorData tensor = TensorArrays.fromNDArray(array);

        assertEquals(SafetensorsDType.F16, tensor.dtype());
        assertArrayEquals(new byte[] {0, 0x3C, 0, (byte) 0xC0, 0, 0x38}, tensor.toByteArray());
        NDArray back = TensorArrays.toNDArray(tensor, manager);
        assertEquals(DataType.FLOAT16, back.getDataType());
        assertArrayEquals(
                new float[] {1f, -2f, 0.5f}, back.toType(DataType.FLOAT32, false).toFloatArray());
    }

    @Test
    void bfloat16IsRefusedBecauseItAbortsThePyTorchEngine() {
        // bfloat16: 1.0 = 0x3F80, -3.0 = 0xC040.
        TensorData tensor =
                TensorData.of(
                        SafetensorsDType.BF16,
                        new long[] {2},
                        new byte[] {(byte) 0x80, 0x3F, 0x40, (byte) 0xC0});

        UnsupportedOperationException e =
                assertThrows(UnsupportedOperationException.class, () -> TensorArrays.toNDArray(tensor, manager));
        assertTrue(e.getMessage().contains("toFloat32()"), e.getMessage());

        NDArray widened = TensorArrays.toNDArray(tensor.toFloat32(), manager);
        assertEquals(DataType.FLOAT32, widened.getDataType());
        assertArrayEquals(new float[] {1f, -3f}, widened.toFloatArray());
    }

    @Test
    void otherEngineUnsafeTypesAreRefused() {
        for (SafetensorsDType dtype :
                List.of(
                        SafetensorsDType.I16,
                        SafetensorsDType.U16,
                        SafetensorsDType.U32,
                        SafetensorsDType.U64)) {
            TensorData tensor = TensorData.of(dtype, new long[] {1}, new byte[dtype.byteSize()]);
            assertThrows(
                    UnsupportedOperationException.class,
                    () -> TensorArrays.toNDArray(tensor, manager),
                    dtype.name());
        }
    }

    /** Every half-precision bit pattern widens as PyTorch's own float16-to-float32 cast does. */
    @Test
    void float16WideningAgreesWithPyTorchForAllBitPatterns() {
        ByteBuffer all = ByteBuffer.allocate(2 * 65536).order(ByteOrder.LITTLE_ENDIAN);
        for (int bits = 0; bits < 65536; bits++) {
            all.putShort((short) bits);
        }
        TensorData halves = TensorData.of(SafetensorsDType.F16, new long[] {65536}, all.flip());

        float[] ours = halves.toFloatArray();
        float[] torch = TensorArrays.toNDArray(halves, manager).toType(DataType.FLOAT32, false).toFloatArray();

        for (int bits = 0; bits < 65536; bits++) {
            if (Float.isNaN(torch[bits])) {
                assertTrue(Float.isNaN(ours[bits]), "bits 0x" + Integer.toHexString(bits));
            } else {
                assertEquals(
                        Float.floatToIntBits(torch[bits]),
                        Float.floatToIntBits(ours[bits]),
                        "bits 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void booleanBothWays() {
        NDArray array = manager.create(new boolean[] {true, false, true});

        TensorData tensor = TensorArrays.fromNDArray(array);

        assertEquals(SafetensorsDType.BOOL, tensor.dtype());
        assertArrayEquals(new byte[] {1, 0, 1}, tensor.toByteArray());
        assertArrayEquals(
                new boolean[] {true, false, true}, TensorArrays.toNDArray(tensor, manager).toBooleanArray());
    }

    @Test
    void scalarAndEmptyShapes() {
        TensorData scalar = TensorData.ofFloats(new long[] {}, 42f);
        NDArray scalarArray = TensorArrays.toNDArray(scalar, manager);
        assertEquals(new Shape(), scalarArray.getShape());
        assertEquals(42f, scalarArray.getFloat(), 0f);
        assertEquals(scalar, TensorArrays.fromNDArray(scalarArray));

        TensorData empty = TensorData.ofFloats(new long[] {0, 3});
        NDArray emptyArray = TensorArrays.toNDArray(empty, manager);
        assertEquals(new Shape(0, 3), emptyArray.getShape());
        assertEquals(empty, TensorArrays.fromNDArray(emptyArray));
    }

    @Test
    void nonContiguousArrayIsCopiedInLogicalOrder() {
        NDArray transposed = manager.create(new float[][] {{1f, 2f, 3f}, {4f, 5f, 6f}}).transpose();

        TensorData tensor = TensorArrays.fromNDArray(transposed);

        assertArrayEquals(new long[] {3, 2}, tensor.shape());
        assertArrayEquals(new float[] {1f, 4f, 2f, 5f, 3f, 6f}, tensor.toFloatArray());
    }

    @Test
    void arraysFromMappedFilesAreWritableCopies() throws IOException {
        SafetensorsFile file =
                SafetensorsFile.read(GoldenFiles.file("b1_lora_mlp/base_model.safetensors"));
        TensorData bias = file.get("head.bias");

        NDArray array = TensorArrays.toNDArray(bias, manager);
        array.addi(1f);

        float[] original = bias.toFloatArray();
        float[] changed = array.toFloatArray();
        for (int i = 0; i < original.length; i++) {
            assertEquals(original[i] + 1f, changed[i], 0f);
        }
        assertEquals(0.054621726274490356f, original[0], 0f, "the file's tensor must not change");
    }

    @Test
    void dtypesWithoutDjlEquivalentFailClearly() {
        TensorData fp8 = TensorData.of(SafetensorsDType.F8_E4M3, new long[] {1}, new byte[] {0x38});

        UnsupportedOperationException e =
                assertThrows(UnsupportedOperationException.class, () -> TensorArrays.toNDArray(fp8, manager));

        assertEquals("safetensors dtype F8_E4M3 has no DJL DataType equivalent", e.getMessage());
    }
}

package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;

/** {@link TensorData} and {@link SafetensorsDType} without an engine. */
class TensorDataTest {
    @Test
    void copiesInputAndExposesReadOnlyLittleEndianData() {
        byte[] bytes = {1, 0, 0, 0, 2, 0, 0, 0};
        TensorData tensor = TensorData.of(SafetensorsDType.I32, new long[] {2}, bytes);
        bytes[0] = 9;

        ByteBuffer data = tensor.data();

        assertEquals(ByteOrder.LITTLE_ENDIAN, data.order());
        assertEquals(1, data.getInt(0));
        assertEquals(2, data.getInt(4));
        assertThrows(ReadOnlyBufferException.class, () -> data.put(0, (byte) 5));
        data.position(4);
        assertEquals(0, tensor.data().position());
    }

    @Test
    void shapeIsDefensivelyCopied() {
        long[] shape = {2};
        TensorData tensor = TensorData.ofFloats(shape, 1f, 2f);
        shape[0] = 7;
        tensor.shape()[0] = 8;

        assertArrayEquals(new long[] {2}, tensor.shape());
    }

    @Test
    void sizes() {
        TensorData tensor = TensorData.of(SafetensorsDType.F16, new long[] {2, 3}, new byte[12]);

        assertEquals(6, tensor.numel());
        assertEquals(12, tensor.byteLength());
        assertEquals(1, TensorData.ofFloats(new long[] {}, 3f).numel());
    }

    @Test
    void equalityIsByContent() {
        TensorData a = TensorData.ofFloats(new long[] {2}, 1f, 2f);
        TensorData same = TensorData.of(SafetensorsDType.F32, new long[] {2}, a.toByteArray());

        assertEquals(a, same);
        assertEquals(a.hashCode(), same.hashCode());
        assertNotEquals(a, TensorData.ofFloats(new long[] {2}, 1f, 3f));
        assertNotEquals(a, TensorData.ofFloats(new long[] {1, 2}, 1f, 2f));
        assertNotEquals(a, TensorData.of(SafetensorsDType.I32, new long[] {2}, a.toByteArray()));
    }

    @Test
    void rejectsByteCountNotMatchingShape() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TensorData.of(SafetensorsDType.F32, new long[] {3}, new byte[8]));
        assertEquals("shape [3] of F32 needs 12 bytes but 8 were given", e.getMessage());
    }

    @Test
    void rejectsNegativeDimension() {
        assertThrows(
                IllegalArgumentException.class,
                () -> TensorData.of(SafetensorsDType.U8, new long[] {-1}, new byte[0]));
    }

    @Test
    void typedAccessorsCheckDtype() {
        TensorData ints = TensorData.ofLongs(new long[] {1}, 5);

        IllegalStateException e = assertThrows(IllegalStateException.class, ints::toFloatArray);
        assertEquals("tensor is I64, not F32, F16 or BF16", e.getMessage());
        assertThrows(
                IllegalStateException.class,
                () -> TensorData.ofFloats(new long[] {1}, 1f).toLongArray());
    }

    /** Half-precision values derived by hand from the IEEE 754 binary16 layout. */
    @Test
    void float16WidensExactly() {
        short[] bits = {
            0x3C00,
            (short) 0xC000,
            0x3800,
            0x7BFF,
            0x0400,
            0x03FF,
            0x0001,
            (short) 0x8000,
            0x7C00,
            (short) 0xFC00,
            0x7E00
        };
        ByteBuffer bytes = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short b : bits) {
            bytes.putShort(b);
        }
        TensorData tensor =
                TensorData.of(SafetensorsDType.F16, new long[] {bits.length}, bytes.flip());

        float[] values = tensor.toFloatArray();

        assertArrayEquals(
                new float[] {
                    1f,
                    -2f,
                    0.5f,
                    65504f,
                    0x1p-14f,
                    1023 * 0x1p-24f,
                    0x1p-24f,
                    -0f,
                    Float.POSITIVE_INFINITY,
                    Float.NEGATIVE_INFINITY,
                    Float.NaN
                },
                values);
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(values[7]));
    }

    /** bfloat16 is the upper half of a float: 0x3F80 = 1.0, 0xC040 = -3.0, 0x3EAA = 0.33203125. */
    @Test
    void bfloat16WidensExactly() {
        TensorData tensor =
                TensorData.of(
                        SafetensorsDType.BF16,
                        new long[] {3},
                        new byte[] {(byte) 0x80, 0x3F, 0x40, (byte) 0xC0, (byte) 0xAA, 0x3E});

        TensorData widened = tensor.toFloat32();

        assertEquals(SafetensorsDType.F32, widened.dtype());
        assertArrayEquals(new long[] {3}, widened.shape());
        assertArrayEquals(new float[] {1f, -3f, 0.33203125f}, widened.toFloatArray());
    }

    @Test
    void toFloat32KeepsF32AndRejectsIntegers() {
        TensorData f32 = TensorData.ofFloats(new long[] {1}, 2f);

        assertTrue(f32 == f32.toFloat32());
        assertThrows(
                IllegalStateException.class,
                () -> TensorData.ofLongs(new long[] {1}, 2).toFloat32());
    }

    @Test
    void dtypeNamesAndSizes() {
        assertEquals(SafetensorsDType.BF16, SafetensorsDType.fromHeader("BF16"));
        assertEquals(8, SafetensorsDType.C64.byteSize());
        assertEquals(2, SafetensorsDType.BF16.byteSize());
        assertEquals(1, SafetensorsDType.BOOL.byteSize());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> SafetensorsDType.fromHeader("f32"));
        assertTrue(e.getMessage().contains("\"f32\""), e.getMessage());
    }

    @Test
    void dtypeMapsToDjl() {
        assertEquals(DataType.FLOAT32, TensorArrays.dataType(SafetensorsDType.F32));
        assertEquals(DataType.BOOLEAN, TensorArrays.dataType(SafetensorsDType.BOOL));
        assertEquals(DataType.UINT16, TensorArrays.dataType(SafetensorsDType.U16));
        assertEquals(SafetensorsDType.I64, TensorArrays.dtype(DataType.INT64));
        assertEquals(SafetensorsDType.BF16, TensorArrays.dtype(DataType.BFLOAT16));
        assertThrows(UnsupportedOperationException.class, () -> TensorArrays.dataType(SafetensorsDType.C64));
        assertThrows(
                IllegalArgumentException.class,
                () -> TensorArrays.dtype(DataType.STRING));
        for (SafetensorsDType dtype : SafetensorsDType.values()) {
            try {
                DataType djl = TensorArrays.dataType(dtype);
                assertEquals(dtype, TensorArrays.dtype(djl));
                assertEquals(dtype.byteSize(), djl.getNumOfBytes(), dtype.name());
            } catch (UnsupportedOperationException expected) {
                // F8_* and C64
            }
        }
    }
}

package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable tensor as safetensors stores it: a {@link SafetensorsDType}, a shape and the
 * elements in row-major order as little-endian bytes.
 *
 * <p>It belongs to no engine and holds no native memory, so it can outlive any {@link NDManager}.
 * Tensors read by {@link SafetensorsFile} share the file's memory mapping; all others own a heap
 * copy. Two instances are {@link #equals equal} when dtype, shape and bytes are equal.
 */
public final class TensorData {
    /**
     * Types whose NDArrays make DJL 0.36's PyTorch engine call {@code std::terminate}, killing the
     * JVM, whether created from a buffer or by {@code toType}. {@link #toNDArray} refuses them. (Not an
     * {@code EnumSet}: that reflects on the enum's methods, which name DJL types, and the CLI runs without DJL.)
     */
    private static final Set<SafetensorsDType> ENGINE_UNSAFE =
            Set.of(
                    SafetensorsDType.I16,
                    SafetensorsDType.U16,
                    SafetensorsDType.BF16,
                    SafetensorsDType.U32,
                    SafetensorsDType.U64);

    private final SafetensorsDType dtype;
    private final long[] shape;
    private final ByteBuffer bytes;

    private TensorData(SafetensorsDType dtype, long[] shape, ByteBuffer bytes) {
        this.dtype = dtype;
        this.shape = shape;
        this.bytes = bytes;
    }

    /**
     * Creates a tensor from a copy of little-endian bytes.
     *
     * @param dtype the element type
     * @param shape the dimensions, each {@code >= 0}; empty for a scalar
     * @param littleEndianBytes exactly {@code numel * dtype.byteSize()} bytes
     * @return the tensor
     * @throws IllegalArgumentException if a dimension is negative or the byte count does not match
     */
    public static TensorData of(SafetensorsDType dtype, long[] shape, byte[] littleEndianBytes) {
        return of(dtype, shape, ByteBuffer.wrap(littleEndianBytes));
    }

    /**
     * Creates a tensor from a copy of the remaining bytes of a buffer, read as little-endian.
     *
     * @param dtype the element type
     * @param shape the dimensions, each {@code >= 0}; empty for a scalar
     * @param littleEndianBytes its remaining bytes are the data; its position is not changed
     * @return the tensor
     * @throws IllegalArgumentException if a dimension is negative or the byte count does not match
     */
    public static TensorData of(
            SafetensorsDType dtype, long[] shape, ByteBuffer littleEndianBytes) {
        ByteBuffer copy = ByteBuffer.allocate(littleEndianBytes.remaining());
        copy.put(littleEndianBytes.duplicate()).flip();
        return wrap(dtype, shape, copy.asReadOnlyBuffer());
    }

    /**
     * Creates an {@link SafetensorsDType#F32} tensor.
     *
     * @param shape the dimensions; their product must equal {@code values.length}
     * @param values the elements in row-major order
     * @return the tensor
     */
    public static TensorData ofFloats(long[] shape, float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(Math.multiplyExact(values.length, Float.BYTES));
        buffer.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
        return wrap(SafetensorsDType.F32, shape, buffer.asReadOnlyBuffer());
    }

    /**
     * Creates an {@link SafetensorsDType#I64} tensor.
     *
     * @param shape the dimensions; their product must equal {@code values.length}
     * @param values the elements in row-major order
     * @return the tensor
     */
    public static TensorData ofLongs(long[] shape, long... values) {
        ByteBuffer buffer = ByteBuffer.allocate(Math.multiplyExact(values.length, Long.BYTES));
        buffer.order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().put(values);
        return wrap(SafetensorsDType.I64, shape, buffer.asReadOnlyBuffer());
    }

    /**
     * Copies an {@code NDArray} into a tensor (from any device; the array is left untouched).
     *
     * @param array the array; its DJL data type must have a safetensors equivalent
     * @return the tensor with the array's dtype, shape and elements
     * @throws IllegalArgumentException if the array's data type cannot be stored in safetensors
     */
    public static TensorData fromNDArray(NDArray array) {
        SafetensorsDType dtype = SafetensorsDType.fromDataType(array.getDataType());
        long[] shape = array.getShape().getShape();
        ByteBuffer nativeBytes = array.toByteBuffer();
        ByteBuffer littleEndian =
                ByteBuffer.allocate(nativeBytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copyReordered(nativeBytes, littleEndian, dtype.byteSize());
        littleEndian.flip();
        return wrap(dtype, shape, littleEndian.asReadOnlyBuffer());
    }

    /**
     * Wraps a buffer without copying; for buffers nobody else can write, such as read-only
     * mappings.
     */
    static TensorData wrap(SafetensorsDType dtype, long[] shape, ByteBuffer littleEndianBytes) {
        Objects.requireNonNull(dtype, "dtype");
        long[] dims = shape.clone();
        long expected;
        try {
            expected = Math.multiplyExact(numel(dims), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(dims) + " of " + dtype + " overflows a long", e);
        }
        if (expected != littleEndianBytes.remaining()) {
            throw new IllegalArgumentException(
                    "shape "
                            + Arrays.toString(dims)
                            + " of "
                            + dtype
                            + " needs "
                            + expected
                            + " bytes but "
                            + littleEndianBytes.remaining()
                            + " were given");
        }
        return new TensorData(dtype, dims, littleEndianBytes.slice());
    }

    /**
     * Returns the number of elements of a shape.
     *
     * @throws IllegalArgumentException if a dimension is negative
     * @throws ArithmeticException if the product overflows a long
     */
    static long numel(long[] shape) {
        long n = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "negative dimension " + dim + " in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    /**
     * Returns the element type.
     *
     * @return the dtype
     */
    public SafetensorsDType dtype() {
        return dtype;
    }

    /**
     * Returns the dimensions.
     *
     * @return a copy of the shape; empty for a scalar
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the number of elements, the product of the dimensions.
     *
     * @return the element count; 1 for a scalar
     */
    public long numel() {
        return numel(shape);
    }

    /**
     * Returns the size of the data in bytes.
     *
     * @return {@code numel() * dtype().byteSize()}
     */
    public int byteLength() {
        return bytes.remaining();
    }

    /**
     * Returns the data as a read-only little-endian buffer positioned at its first byte.
     *
     * @return a new view of the bytes; changing its position does not affect this tensor
     */
    public ByteBuffer data() {
        return bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Returns a copy of the data.
     *
     * @return the little-endian bytes
     */
    public byte[] toByteArray() {
        byte[] out = new byte[bytes.remaining()];
        bytes.duplicate().get(out);
        return out;
    }

    /**
     * Returns the elements of a floating-point tensor as floats.
     *
     * @return the elements in row-major order; F16 and BF16 are widened exactly
     * @throws IllegalStateException if the dtype is not F32, F16 or BF16
     */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        ByteBuffer data = data();
        switch (dtype) {
            case F32:
                data.asFloatBuffer().get(out);
                return out;
            case F16:
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.f16ToFloat(data.getShort(i * 2));
                }
                return out;
            case BF16:
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(data.getShort(i * 2));
                }
                return out;
            default:
                throw new IllegalStateException("tensor is " + dtype + ", not F32, F16 or BF16");
        }
    }

    /**
     * Returns this tensor as {@link SafetensorsDType#F32}, for loading 16-bit adapters into float32
     * models.
     *
     * @return this tensor if it is F32; an exact F32 copy if it is F16 or BF16
     * @throws IllegalStateException if the dtype is not F32, F16 or BF16
     */
    public TensorData toFloat32() {
        return dtype == SafetensorsDType.F32 ? this : ofFloats(shape, toFloatArray());
    }

    /**
     * Returns the elements of an {@link SafetensorsDType#I64} tensor.
     *
     * @return the elements in row-major order
     * @throws IllegalStateException if the dtype is not I64
     */
    public long[] toLongArray() {
        requireDType(SafetensorsDType.I64);
        long[] out = new long[Math.toIntExact(numel())];
        data().asLongBuffer().get(out);
        return out;
    }

    /**
     * Creates an {@code NDArray} with this tensor's data type, shape and elements.
     *
     * @param manager the manager that will own the array (and its device)
     * @return a new array; the caller closes it, or its manager does
     * @throws UnsupportedOperationException if DJL has no data type for this dtype, or for BF16,
     *     I16, U16, U32 and U64, which crash DJL 0.36's PyTorch engine (native {@code terminate})
     */
    public NDArray toNDArray(NDManager manager) {
        DataType dataType = dtype.toDataType();
        if (ENGINE_UNSAFE.contains(dtype)) {
            throw new UnsupportedOperationException(
                    "refusing to create a "
                            + dataType
                            + " NDArray: DJL 0.36's PyTorch engine aborts the JVM on "
                            + ENGINE_UNSAFE
                            + " arrays"
                            + (dtype == SafetensorsDType.BF16
                                    ? "; convert with toFloat32() first"
                                    : ""));
        }
        // A fresh native-order buffer: engines may keep a direct buffer as the array's storage,
        // so it must be writable and must not be the read-only file mapping.
        ByteBuffer target = manager.allocateDirect(bytes.remaining());
        copyReordered(data(), target, dtype.byteSize());
        target.rewind();
        return manager.create(target, new Shape(shape), dataType);
    }

    private void requireDType(SafetensorsDType wanted) {
        if (dtype != wanted) {
            throw new IllegalStateException("tensor is " + dtype + ", not " + wanted);
        }
    }

    /**
     * Copies all remaining bytes of {@code from} into {@code to}, converting the byte order of each
     * {@code elementSize}-byte element from {@code from.order()} to {@code to.order()}.
     */
    private static void copyReordered(ByteBuffer from, ByteBuffer to, int elementSize) {
        ByteBuffer source = from.duplicate();
        if (elementSize == 1 || from.order() == to.order()) {
            to.put(source);
            return;
        }
        byte[] element = new byte[elementSize];
        while (source.hasRemaining()) {
            source.get(element);
            for (int i = elementSize - 1; i >= 0; i--) {
                to.put(element[i]);
            }
        }
    }

    /** Equal when dtype, shape and every byte are equal. */
    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof TensorData)) {
            return false;
        }
        TensorData that = (TensorData) other;
        return dtype == that.dtype && Arrays.equals(shape, that.shape) && bytes.equals(that.bytes);
    }

    /** Hashes dtype, shape and bytes, consistently with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), bytes);
    }

    /** Describes dtype, shape and size, not the elements. */
    @Override
    public String toString() {
        return "TensorData["
                + dtype
                + " "
                + Arrays.toString(shape)
                + ", "
                + byteLength()
                + " bytes]";
    }
}

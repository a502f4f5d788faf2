package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Set;

/**
 * Converts between {@link TensorData} and DJL's {@link NDArray}: the only class of this package that needs DJL, so that
 * reading and writing safetensors works without it.
 */
public final class TensorArrays {

    /**
     * Types whose NDArrays make DJL 0.36's PyTorch engine call {@code std::terminate}, killing the JVM, whether created
     * from a buffer or by {@code toType}. {@link #toNDArray} refuses them.
     */
    private static final Set<SafetensorsDType> ENGINE_UNSAFE = EnumSet.of(SafetensorsDType.I16, SafetensorsDType.U16,
            SafetensorsDType.BF16, SafetensorsDType.U32, SafetensorsDType.U64);

    private TensorArrays() {}

    /**
     * Copies an {@code NDArray} into a tensor (from any device; the array is left untouched).
     *
     * @param array the array; its DJL data type must have a safetensors equivalent
     * @return the tensor with the array's dtype, shape and elements
     * @throws IllegalArgumentException if the array's data type cannot be stored in safetensors
     */
    public static TensorData fromNDArray(NDArray array) {
        SafetensorsDType dtype = dtype(array.getDataType());
        long[] shape = array.getShape().getShape();
        ByteBuffer nativeBytes = array.toByteBuffer();
        ByteBuffer littleEndian = ByteBuffer.allocate(nativeBytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        TensorData.copyReordered(nativeBytes, littleEndian, dtype.byteSize());
        littleEndian.flip();
        return TensorData.wrap(dtype, shape, littleEndian.asReadOnlyBuffer());
    }

    /**
     * Creates an {@code NDArray} with the tensor's data type, shape and elements.
     *
     * @param manager the manager that will own the array (and its device)
     * @return a new array; the caller closes it, or its manager does
     * @throws UnsupportedOperationException if DJL has no data type for the dtype, or for BF16, I16, U16, U32 and
     *     U64, which crash DJL 0.36's PyTorch engine (native {@code terminate})
     */
    public static NDArray toNDArray(TensorData tensor, NDManager manager) {
        SafetensorsDType dtype = tensor.dtype();
        DataType dataType = dataType(dtype);
        if (ENGINE_UNSAFE.contains(dtype)) {
            throw new UnsupportedOperationException("refusing to create a " + dataType
                    + " NDArray: DJL 0.36's PyTorch engine aborts the JVM on " + ENGINE_UNSAFE + " arrays"
                    + (dtype == SafetensorsDType.BF16 ? "; convert with toFloat32() first" : ""));
        }
        // A fresh native-order buffer: engines may keep a direct buffer as the array's storage, so it must be
        // writable and must not be the read-only file mapping.
        ByteBuffer target = manager.allocateDirect(tensor.byteLength());
        TensorData.copyReordered(tensor.data(), target, dtype.byteSize());
        target.rewind();
        return manager.create(target, new Shape(tensor.shape()), dataType);
    }

    /**
     * Returns the DJL data type with the same element encoding.
     *
     * <p>A mapping exists for BF16, I16, U16, U32 and U64, but DJL 0.36's PyTorch engine aborts the JVM when asked to
     * create arrays of those types; see {@link #toNDArray}.
     *
     * @throws UnsupportedOperationException for the 8-bit float types and {@code C64}, which DJL cannot represent
     */
    public static DataType dataType(SafetensorsDType dtype) {
        if (dtype.djlName() == null) {
            throw new UnsupportedOperationException(
                    "safetensors dtype " + dtype.name() + " has no DJL DataType equivalent");
        }
        return DataType.valueOf(dtype.djlName());
    }

    /**
     * Returns the safetensors type for a DJL data type.
     *
     * @throws IllegalArgumentException for DJL types safetensors cannot store (STRING, UNKNOWN, COMPLEX64)
     */
    public static SafetensorsDType dtype(DataType dataType) {
        for (SafetensorsDType type : SafetensorsDType.values()) {
            if (dataType.name().equals(type.djlName())) {
                return type;
            }
        }
        throw new IllegalArgumentException("DJL DataType " + dataType + " cannot be stored in a safetensors file");
    }
}

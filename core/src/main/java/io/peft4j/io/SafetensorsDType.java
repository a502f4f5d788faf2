package io.peft4j.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * An element type of the safetensors format, named exactly as in the file header.
 *
 * <p>The constants are declared in the order of the {@code Dtype} enum of the reference Rust crate
 * ({@code safetensors/src/tensor.rs} in huggingface/safetensors), which is the order of increasing
 * alignment. Writers lay tensors out by <em>descending</em> position in this order, then by name;
 * {@link SafetensorsWriter} relies on {@link #ordinal()} for that, so do not reorder them. Note
 * that this puts {@code F64} between {@code C64} and {@code I64}.
 *
 * <p>Only byte-sized types are supported: the sub-byte {@code F4}, {@code F6_E2M3} and {@code
 * F6_E3M2} of the format are rejected when read.
 */
public enum SafetensorsDType {
    /** Boolean, one byte per element (0 or 1). */
    BOOL(1, "BOOLEAN"),
    /** Unsigned 8-bit integer. */
    U8(1, "UINT8"),
    /** Signed 8-bit integer. */
    I8(1, "INT8"),
    /** 8-bit float, 5 exponent and 2 mantissa bits; no DJL equivalent. */
    F8_E5M2(1, null),
    /** 8-bit float, 4 exponent and 3 mantissa bits; no DJL equivalent. */
    F8_E4M3(1, null),
    /** 8-bit power-of-two scale (OCP MX); no DJL equivalent. */
    F8_E8M0(1, null),
    /** 8-bit float E4M3, finite with unsigned zero; no DJL equivalent. */
    F8_E4M3FNUZ(1, null),
    /** 8-bit float E5M2, finite with unsigned zero; no DJL equivalent. */
    F8_E5M2FNUZ(1, null),
    /** Signed 16-bit integer. */
    I16(2, "INT16"),
    /** Unsigned 16-bit integer. */
    U16(2, "UINT16"),
    /** IEEE 754 half precision. */
    F16(2, "FLOAT16"),
    /** Brain floating point (bfloat16). */
    BF16(2, "BFLOAT16"),
    /** Signed 32-bit integer. */
    I32(4, "INT32"),
    /** Unsigned 32-bit integer. */
    U32(4, "UINT32"),
    /** IEEE 754 single precision. */
    F32(4, "FLOAT32"),
    /** Complex number of two 32-bit floats; DJL's COMPLEX64 does not match its 8-byte size. */
    C64(8, null),
    /** IEEE 754 double precision. */
    F64(8, "FLOAT64"),
    /** Signed 64-bit integer. */
    I64(8, "INT64"),
    /** Unsigned 64-bit integer. */
    U64(8, "UINT64");

    private final int byteSize;
    /**
     * The name of the DJL {@code DataType} ({@link TensorArrays} resolves it: this package reads and writes
     * safetensors without DJL, e.g. in {@code java -jar peft4j-agent.jar inspect}).
     */
    private final String dataType;

    SafetensorsDType(int byteSize, String dataType) {
        this.byteSize = byteSize;
        this.dataType = dataType;
    }

    /**
     * Returns the size of one element in bytes.
     *
     * @return bytes per element: 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Returns the type named {@code name} in a safetensors header.
     *
     * @param name the header's {@code "dtype"} value, e.g. {@code "F32"}; case-sensitive
     * @return the type
     * @throws IllegalArgumentException if the name is not a supported safetensors type
     */
    public static SafetensorsDType fromHeader(String name) {
        for (SafetensorsDType type : values()) {
            if (type.name().equals(name)) {
                return type;
            }
        }
        throw new IllegalArgumentException(
                "unknown or unsupported safetensors dtype \""
                        + name
                        + "\" (supported: "
                        + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "))
                        + ")");
    }

    /** The name of the DJL data type with the same element encoding, or {@code null}. */
    String djlName() {
        return dataType;
    }
}

package io.peft4j.io;

/**
 * Exact widening of the 16-bit float formats to {@code float}: IEEE 754 half precision ({@code
 * F16}) and bfloat16 ({@code BF16}). Every value of both formats is representable as a float, so
 * nothing is rounded. (Java 17 has no {@code Float.float16ToFloat}.)
 */
final class HalfFloats {
    private HalfFloats() {}

    /**
     * Widens IEEE half-precision bits.
     *
     * @param bits the 16 bits: sign, 5 exponent bits, 10 mantissa bits
     * @return the same value as a float, including signed zeros, subnormals, infinities and NaN
     */
    static float f16ToFloat(short bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            // Infinity or NaN; keep the NaN payload in the high mantissa bits.
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24, exact in float.
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /**
     * Widens bfloat16 bits, which are the upper half of a float's bits.
     *
     * @param bits the 16 bits
     * @return the same value as a float
     */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}

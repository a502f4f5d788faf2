package io.peft4j.lora;

import java.util.Arrays;

/**
 * One module's LoRA factors as flat float32 arrays in PEFT's layouts: {@code A} is {@code [r, in, k...]}
 * ({@code lora_A}, {@code lora_embedding_A}: {@code [r, num]}), {@code B} is {@code [out, r, 1...]}; the delta is
 * {@code scaling * B A} with both viewed as matrices.
 *
 * @param a factor A, row-major
 * @param aShape its shape
 * @param b factor B, row-major
 * @param bShape its shape
 * @param scaling the adapter's scaling at this module
 */
public record LoraFactors(float[] a, long[] aShape, float[] b, long[] bShape, double scaling) {

    /** The rank: A's first dimension. */
    public int rank() {
        return (int) aShape[0];
    }

    /** Rows of the delta: B's first dimension. */
    int out() {
        return (int) bShape[0];
    }

    /** Columns of the delta: A's size per rank. */
    int in() {
        return a.length / rank();
    }

    /** The size of B's dimensions after the rank (1 for Linear and Embedding). */
    int bTail() {
        return b.length / (out() * rank());
    }

    /** The delta {@code scaling * B A} as a row-major {@code [out, in]} float32 matrix. */
    float[] delta() {
        int out = out();
        int in = in();
        int r = rank();
        float s = (float) scaling;
        float[] d = new float[out * in];
        for (int i = 0; i < out; i++) {
            for (int t = 0; t < r; t++) {
                float bv = b[i * r + t];
                if (bv == 0) {
                    continue;
                }
                for (int j = 0; j < in; j++) {
                    d[i * in + j] += bv * a[t * in + j];
                }
            }
        }
        for (int i = 0; i < d.length; i++) {
            d[i] *= s;
        }
        return d;
    }

    /** A shape with {@code rank} in place of the rank dimension ({@code index}). */
    static long[] withRank(long[] shape, int index, int rank) {
        long[] s = shape.clone();
        s[index] = rank;
        return s;
    }

    @Override
    public String toString() {
        return "LoraFactors[A " + Arrays.toString(aShape) + ", B " + Arrays.toString(bShape) + ", scaling "
                + scaling + "]";
    }
}

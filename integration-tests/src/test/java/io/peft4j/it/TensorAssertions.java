package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Locale;

/** Assertions on {@link Safetensors.Tensor}s: element-wise closeness and bit identity, with readable messages. */
final class TensorAssertions {

    private TensorAssertions() {}

    /**
     * Asserts that two F32 tensors have the same shape and differ by at most {@code absTolerance} everywhere.
     *
     * @param expected the reference
     * @param actual the value under test
     * @param absTolerance the largest allowed absolute difference
     * @param context what is compared, for the message
     */
    static void assertClose(Safetensors.Tensor expected, Safetensors.Tensor actual, double absTolerance,
            String context) {
        assertArrayEquals(expected.shape(), actual.shape(), () -> context + ": shape " + Arrays.toString(actual.shape())
                + " differs from expected " + Arrays.toString(expected.shape()));
        float[] e = expected.floats();
        float[] a = actual.floats();
        assertEquals(e.length, a.length, context + ": element count");
        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs((double) e[i] - a[i]);
            if (Double.isNaN(d)) {
                d = Double.POSITIVE_INFINITY;
            }
            if (d > worst) {
                worst = d;
                worstIndex = i;
            }
        }
        if (worst > absTolerance) {
            int i = worstIndex;
            throw new AssertionError(String.format(Locale.ROOT,
                    "%s: max |diff| %.3g > %.1g at flat index %d (expected %.8g, actual %.8g)%n"
                            + "expected: %s%nactual:   %s",
                    context, worst, absTolerance, i, e[i], a[i], preview(e), preview(a)));
        }
    }

    /** Asserts that two tensors are bit-identical (dtype, shape and bytes). */
    static void assertBitIdentical(Safetensors.Tensor expected, Safetensors.Tensor actual, String context) {
        if (!expected.bitIdentical(actual)) {
            throw new AssertionError(context + ": " + actual + " is not bit-identical to " + expected
                    + describeDifference(expected, actual));
        }
    }

    /** Whether two F32 tensors differ in at least one element (shape changes count as differences). */
    static boolean differs(Safetensors.Tensor a, Safetensors.Tensor b) {
        return !a.bitIdentical(b);
    }

    /** Largest absolute element difference of two same-shaped F32 tensors. */
    static double maxAbsDiff(Safetensors.Tensor a, Safetensors.Tensor b) {
        float[] x = a.floats();
        float[] y = b.floats();
        if (x.length != y.length) {
            return Double.POSITIVE_INFINITY;
        }
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs((double) x[i] - y[i]));
        }
        return worst;
    }

    private static String describeDifference(Safetensors.Tensor expected, Safetensors.Tensor actual) {
        if (!"F32".equals(expected.dtype()) || !"F32".equals(actual.dtype())
                || !Arrays.equals(expected.shape(), actual.shape())) {
            return "";
        }
        return String.format(Locale.ROOT, " (max |diff| %.3g)", maxAbsDiff(expected, actual));
    }

    private static String preview(float[] values) {
        int n = Math.min(values.length, 12);
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6g", values[i]));
        }
        return sb.append(values.length > n ? ", ...]" : "]").toString();
    }
}

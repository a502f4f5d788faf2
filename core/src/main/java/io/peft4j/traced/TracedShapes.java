package io.peft4j.traced;

import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/** Shapes as PEFT prints them in its errors ({@code [4, 16]}), and the size-mismatch message. */
public final class TracedShapes {

    private TracedShapes() {}

    /** {@code [4, 16]}. */
    public static String str(Shape shape) {
        return Arrays.toString(shape.getShape());
    }

    /** {@code [4, 16]}. */
    public static String str(long... dims) {
        return Arrays.toString(dims);
    }

    /**
     * PEFT's {@code load_state_dict} error for a tensor that does not fit: {@code size mismatch for KEY: copying a
     * param with shape [..] from checkpoint, the shape in current model is [..].} followed by {@code why}.
     */
    public static IllegalArgumentException sizeMismatch(String key, Shape saved, Shape expected, String why) {
        return new IllegalArgumentException("size mismatch for " + key + ": copying a param with shape " + str(saved)
                + " from checkpoint, the shape in current model is " + str(expected) + "." + (why == null ? ""
                        : " (" + why + ")"));
    }

    /** Throws {@link #sizeMismatch} unless {@code saved} equals {@code expected}. */
    public static void check(String key, Shape saved, Shape expected, String why) {
        if (!saved.equals(expected)) {
            throw sizeMismatch(key, saved, expected, why);
        }
    }
}

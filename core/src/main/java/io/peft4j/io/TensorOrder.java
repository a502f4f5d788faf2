package io.peft4j.io;

import java.util.Comparator;
import java.util.Map;

/**
 * The order in which writers lay tensors out, as the reference implementation does.
 *
 * <p>{@code prepare} in {@code safetensors/src/tensor.rs} (huggingface/safetensors) sorts with
 * {@code right.dtype().cmp(&left.dtype()).then(lname.cmp(rname))}: first by dtype, descending in
 * the declaration order of its {@code Dtype} enum (which {@link SafetensorsDType} mirrors), then by
 * name ascending. Rust compares strings by their UTF-8 bytes, which is the order of Unicode code
 * points, not Java's UTF-16 {@link String#compareTo}.
 */
final class TensorOrder {
    /** Orders named tensors: dtype descending, then name by code point. */
    static final Comparator<Map.Entry<String, TensorData>> WRITE_ORDER =
            Comparator.<Map.Entry<String, TensorData>>comparingInt(
                            entry -> -entry.getValue().dtype().ordinal())
                    .thenComparing(Map.Entry::getKey, TensorOrder::compareCodePoints);

    private TensorOrder() {}

    /** Compares two strings by Unicode code point, as Rust compares UTF-8 strings. */
    static int compareCodePoints(String left, String right) {
        int i = 0;
        int j = 0;
        while (i < left.length() && j < right.length()) {
            int a = left.codePointAt(i);
            int b = right.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Integer.compare(left.length() - i, right.length() - j);
    }
}

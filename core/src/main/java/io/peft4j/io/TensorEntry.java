package io.peft4j.io;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header: its name, element type and shape, and where its bytes are in the data
 * buffer.
 *
 * @param name the tensor name (the header key)
 * @param dtype the element type
 * @param shape the dimensions, each {@code >= 0}
 * @param begin first byte in the data buffer, inclusive
 * @param end last byte in the data buffer, exclusive
 */
public record TensorEntry(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {

    /** The number of elements. */
    public long numel() {
        return TensorData.numel(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}

package io.peft4j.io;

/**
 * One tensor entry of a safetensors header: where the tensor's bytes are in the data buffer and how
 * to read them.
 *
 * @param name the tensor name (the header key)
 * @param dtype the element type
 * @param shape the dimensions, each {@code >= 0}
 * @param begin first byte in the data buffer, inclusive
 * @param end last byte in the data buffer, exclusive
 */
record TensorEntry(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {}

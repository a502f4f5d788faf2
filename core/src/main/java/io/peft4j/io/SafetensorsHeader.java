package io.peft4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * The header of a safetensors file, read and validated without reading the tensors' bytes: metadata, and every
 * tensor's name, dtype, shape and byte range (checked against the file's size). What {@code inspect} prints, and the
 * first step of {@link SafetensorsFile#read}; needs neither DJL nor the data.
 */
public final class SafetensorsHeader {

    /** Largest header accepted, as in the reference implementation (100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final int LENGTH_PREFIX_BYTES = Long.BYTES;

    private final Map<String, String> metadata;
    private final List<TensorEntry> tensors;
    private final long dataStart;
    private final long dataLength;

    private SafetensorsHeader(Map<String, String> metadata, List<TensorEntry> tensors, long dataStart,
            long dataLength) {
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
    }

    /**
     * Reads and validates the header of {@code file}.
     *
     * @throws SafetensorsException if the file breaks the format; the message names the file and, where relevant,
     *     the tensor
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsHeader read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, channel);
        }
    }

    /** Reads the header through an open channel (which {@link SafetensorsFile} then maps). */
    static SafetensorsHeader read(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < LENGTH_PREFIX_BYTES) {
            throw new SafetensorsException(file, "file is " + size + " bytes, shorter than the 8-byte header length"
                    + " that starts every safetensors file");
        }
        long headerLength = readFully(file, channel, 0, LENGTH_PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
        // Negative means >= 2^63 as an unsigned 64-bit number.
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new SafetensorsException(file, "header length " + Long.toUnsignedString(headerLength)
                    + " is larger than the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (headerLength > size - LENGTH_PREFIX_BYTES) {
            throw new SafetensorsException(file, "header length " + headerLength + " is larger than the "
                    + (size - LENGTH_PREFIX_BYTES) + " bytes that follow it in the file");
        }
        ByteBuffer headerBytes = readFully(file, channel, LENGTH_PREFIX_BYTES, (int) headerLength);
        HeaderParser.Header header = HeaderParser.parse(file, headerBytes.array());
        long dataStart = LENGTH_PREFIX_BYTES + headerLength;
        long dataLength = size - dataStart;
        DataLayout.check(file, header.tensors(), dataLength);
        return new SafetensorsHeader(header.metadata(), header.tensors(), dataStart, dataLength);
    }

    private static ByteBuffer readFully(Path file, FileChannel channel, long position, int length)
            throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new SafetensorsException(file, "file ended while reading the header");
            }
        }
        return buffer.flip();
    }

    /** The {@code "__metadata__"} map, unmodifiable, in header order; empty when the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor entries, unmodifiable, in header order. */
    public List<TensorEntry> tensors() {
        return tensors;
    }

    /** Where the data buffer starts in the file. */
    long dataStart() {
        return dataStart;
    }

    /** The size of the data buffer. */
    long dataLength() {
        return dataLength;
    }
}

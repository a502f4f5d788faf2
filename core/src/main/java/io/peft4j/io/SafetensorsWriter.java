package io.peft4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Writes safetensors files byte-for-byte as Python's {@code safetensors.torch.save_file} (Rust
 * crate {@code safetensors}, {@code tensor.rs} {@code prepare}/{@code serialize}) does for the same
 * tensors and metadata.
 *
 * <p>The layout rule: tensors sorted by dtype in descending {@link SafetensorsDType} declaration
 * order ({@code U64, I64, F64, C64, F32, U32, I32, BF16, F16, U16, I16, ...}, see {@link
 * TensorOrder}), then by name; data offsets assigned in that order with no padding between tensors;
 * a compact JSON header with {@code "__metadata__"} first, padded with spaces to a multiple of 8
 * bytes.
 *
 * <p>Metadata entries are written in the map's iteration order. The reference keeps metadata in a
 * Rust {@code HashMap}, whose order is not defined, so files with more than one metadata entry are
 * byte-identical only up to that order; with a {@link java.util.LinkedHashMap} from {@link
 * SafetensorsFile#metadata()} a file is rewritten exactly as read.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /** The header and the tensors in data order, ready to be written. */
    private record Layout(byte[] header, List<TensorData> tensors, long dataLength) {
        long totalLength() {
            return Long.BYTES + header.length + dataLength;
        }

        ByteBuffer lengthPrefix() {
            return ByteBuffer.allocate(Long.BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(0, header.length);
        }
    }

    /**
     * Writes a safetensors file atomically: the bytes go to a temporary file in the same directory,
     * which is flushed to disk and then moved over {@code file}. Readers never see a partial file,
     * and a failed write leaves any previous file in place.
     *
     * @param file the file to create or replace
     * @param tensors the tensors by name; the map's order does not matter
     * @param metadata the {@code "__metadata__"} entries; {@code null} or empty writes no {@code
     *     "__metadata__"} key
     * @throws IllegalArgumentException if a name is {@code "__metadata__"} or not encodable, or the
     *     header exceeds 100 MB
     * @throws IOException if writing or moving the file fails
     */
    public static void write(
            Path file, Map<String, TensorData> tensors, Map<String, String> metadata)
            throws IOException {
        Layout layout = prepare(tensors, metadata);
        Path target = file.toAbsolutePath();
        Path temp =
                target.resolveSibling(
                        "." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (FileChannel out =
                    FileChannel.open(
                            temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeFully(out, layout.lengthPrefix());
                writeFully(out, ByteBuffer.wrap(layout.header()));
                for (TensorData tensor : layout.tensors()) {
                    writeFully(out, tensor.data());
                }
                out.force(true);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Serializes tensors to the bytes of a safetensors file.
     *
     * @param tensors the tensors by name; the map's order does not matter
     * @param metadata the {@code "__metadata__"} entries; {@code null} or empty writes no {@code
     *     "__metadata__"} key
     * @return the complete file content
     * @throws IllegalArgumentException if a name is {@code "__metadata__"} or not encodable, the
     *     header exceeds 100 MB, or the result would not fit in a Java array (use {@link #write})
     */
    public static byte[] serialize(Map<String, TensorData> tensors, Map<String, String> metadata) {
        Layout layout = prepare(tensors, metadata);
        if (layout.totalLength() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    "a safetensors file of "
                            + layout.totalLength()
                            + " bytes does not fit in a byte array; write it to a file");
        }
        ByteBuffer out = ByteBuffer.allocate((int) layout.totalLength());
        out.put(layout.lengthPrefix()).put(layout.header());
        for (TensorData tensor : layout.tensors()) {
            out.put(tensor.data());
        }
        return out.array();
    }

    private static Layout prepare(Map<String, TensorData> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        List<Map.Entry<String, TensorData>> ordered = new ArrayList<>(tensors.size());
        for (Map.Entry<String, TensorData> entry : tensors.entrySet()) {
            String name = Objects.requireNonNull(entry.getKey(), "tensor name");
            Objects.requireNonNull(entry.getValue(), () -> "tensor \"" + name + "\" is null");
            if (SafetensorsFile.METADATA_KEY.equals(name)) {
                throw new IllegalArgumentException(
                        "\"" + name + "\" is reserved for metadata and cannot name a tensor");
            }
            ordered.add(Map.entry(name, entry.getValue()));
        }
        if (metadata != null) {
            metadata.forEach(
                    (key, value) -> {
                        Objects.requireNonNull(key, "metadata key");
                        Objects.requireNonNull(value, () -> "metadata \"" + key + "\" is null");
                    });
        }
        ordered.sort(TensorOrder.WRITE_ORDER);
        List<TensorEntry> entries = new ArrayList<>(ordered.size());
        List<TensorData> data = new ArrayList<>(ordered.size());
        long offset = 0;
        for (Map.Entry<String, TensorData> entry : ordered) {
            TensorData tensor = entry.getValue();
            long end = offset + tensor.byteLength();
            entries.add(
                    new TensorEntry(entry.getKey(), tensor.dtype(), tensor.shape(), offset, end));
            data.add(tensor);
            offset = end;
        }
        byte[] header = HeaderEncoder.encode(metadata, entries);
        if (header.length > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException(
                    "header of "
                            + header.length
                            + " bytes exceeds the safetensors limit of "
                            + SafetensorsHeader.MAX_HEADER_BYTES);
        }
        return new Layout(header, data, offset);
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }
}

package io.peft4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file that has been read and validated.
 *
 * <p>{@link #read} checks the whole header before returning ({@link SafetensorsHeader}; see
 * {@link SafetensorsException} for what is rejected) and memory-maps the data buffer read-only, so tensor bytes are
 * paged in only when used. The mapping lives as long as the {@link TensorData} objects that use it; there is nothing to
 * close. Instances are immutable and safe to share between threads.
 */
public final class SafetensorsFile {
    /** The reserved header key of the string-to-string metadata map. */
    public static final String METADATA_KEY = "__metadata__";

    private final Path file;
    private final Map<String, String> metadata;
    private final Map<String, TensorData> tensors;

    private SafetensorsFile(
            Path file, Map<String, String> metadata, Map<String, TensorData> tensors) {
        this.file = file;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Reads and validates a safetensors file.
     *
     * @param file the file to read
     * @return the file's metadata and tensors
     * @throws SafetensorsException if the file breaks the format; the message names the file and,
     *     where relevant, the tensor
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsFile read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            SafetensorsHeader header = SafetensorsHeader.read(file, channel);
            return new SafetensorsFile(file, header.metadata(),
                    map(channel, header.tensors(), header.dataStart(), header.dataLength()));
        }
    }

    /** Maps the data buffer once when it fits one mapping, else each tensor on its own. */
    private static Map<String, TensorData> map(
            FileChannel channel, List<TensorEntry> entries, long dataStart, long dataLength)
            throws IOException {
        MappedByteBuffer whole =
                dataLength <= Integer.MAX_VALUE
                        ? channel.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLength)
                        : null;
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (TensorEntry entry : entries) {
            int length = (int) (entry.end() - entry.begin());
            ByteBuffer bytes =
                    whole != null
                            ? whole.slice((int) entry.begin(), length)
                            : channel.map(
                                    FileChannel.MapMode.READ_ONLY,
                                    dataStart + entry.begin(),
                                    length);
            tensors.put(entry.name(), TensorData.wrap(entry.dtype(), entry.shape(), bytes));
        }
        return tensors;
    }

    /**
     * Returns the file this was read from.
     *
     * @return the path given to {@link #read}
     */
    public Path path() {
        return file;
    }

    /**
     * Returns the {@code "__metadata__"} map of the header.
     *
     * @return an unmodifiable map in header order; empty when the header has none
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Returns the tensor names.
     *
     * @return an unmodifiable list in header order
     */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /**
     * Returns the number of tensors.
     *
     * @return the tensor count
     */
    public int size() {
        return tensors.size();
    }

    /**
     * Tells whether the file has a tensor of this name.
     *
     * @param name a tensor name
     * @return {@code true} if {@link #get} would find it
     */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * Returns one tensor.
     *
     * @param name the tensor name, as in the header
     * @return the tensor
     * @throws IllegalArgumentException naming the file and the key if there is no such tensor
     */
    public TensorData get(String name) {
        TensorData tensor = tensors.get(name);
        if (tensor == null) {
            throw new IllegalArgumentException(
                    "safetensors file "
                            + file
                            + " has no tensor \""
                            + name
                            + "\" (it has "
                            + tensors.size()
                            + ": "
                            + abbreviatedNames()
                            + ")");
        }
        return tensor;
    }

    /**
     * Returns all tensors by name.
     *
     * @return a new, modifiable map in header order
     */
    public LinkedHashMap<String, TensorData> tensors() {
        return new LinkedHashMap<>(tensors);
    }

    private String abbreviatedNames() {
        List<String> names = names();
        int shown = Math.min(names.size(), 10);
        String listed = String.join(", ", names.subList(0, shown));
        return shown < names.size() ? listed + ", ..." : listed;
    }

    /** Names the file and its tensor count. */
    @Override
    public String toString() {
        return "SafetensorsFile[" + file + ", " + tensors.size() + " tensors]";
    }
}

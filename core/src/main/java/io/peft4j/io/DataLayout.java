package io.peft4j.io;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Checks that the tensor entries of a header describe the data buffer exactly: every tensor's byte
 * range matches its shape and dtype, lies inside the buffer, and together the ranges cover the
 * buffer from its first to its last byte with no gap and no overlap.
 */
final class DataLayout {
    private DataLayout() {}

    /**
     * Validates the entries against a data buffer of {@code dataLength} bytes.
     *
     * @param file the file, for error messages
     * @param entries the header's tensor entries, in any order
     * @param dataLength the size of the data buffer that follows the header
     * @throws SafetensorsException naming the first offending tensor
     */
    static void check(Path file, List<TensorEntry> entries, long dataLength)
            throws SafetensorsException {
        for (TensorEntry entry : entries) {
            checkEntry(file, entry, dataLength);
        }
        List<TensorEntry> byOffset = new ArrayList<>(entries);
        byOffset.sort(
                Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        long covered = 0;
        TensorEntry previous = null;
        for (TensorEntry entry : byOffset) {
            if (entry.begin() < covered) {
                throw new SafetensorsException(
                        file,
                        entry.name(),
                        "bytes ["
                                + entry.begin()
                                + ", "
                                + entry.end()
                                + ") overlap tensor \""
                                + previous.name()
                                + "\" at ["
                                + previous.begin()
                                + ", "
                                + previous.end()
                                + ")",
                        null);
            }
            if (entry.begin() > covered) {
                throw new SafetensorsException(
                        file,
                        entry.name(),
                        "starts at byte "
                                + entry.begin()
                                + " but the bytes before it end at "
                                + covered
                                + ": data bytes ["
                                + covered
                                + ", "
                                + entry.begin()
                                + ") belong to no tensor",
                        null);
            }
            covered = entry.end();
            previous = entry;
        }
        if (covered != dataLength) {
            throw new SafetensorsException(
                    file,
                    "the tensors cover "
                            + covered
                            + " bytes but the data buffer has "
                            + dataLength
                            + ": bytes ["
                            + covered
                            + ", "
                            + dataLength
                            + ") belong to no tensor");
        }
    }

    private static void checkEntry(Path file, TensorEntry entry, long dataLength)
            throws SafetensorsException {
        String name = entry.name();
        String offsets = "data_offsets [" + entry.begin() + ", " + entry.end() + "]";
        if (entry.end() < entry.begin()) {
            throw new SafetensorsException(file, name, offsets + " end before they begin", null);
        }
        if (entry.end() > dataLength) {
            throw new SafetensorsException(
                    file,
                    name,
                    offsets + " are out of bounds of the " + dataLength + "-byte data buffer",
                    null);
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorData.numel(entry.shape()), entry.dtype().byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(
                    file,
                    name,
                    "shape " + Arrays.toString(entry.shape()) + " overflows a 64-bit size",
                    e);
        }
        if (entry.end() - entry.begin() != bytes) {
            throw new SafetensorsException(
                    file,
                    name,
                    offsets
                            + " span "
                            + (entry.end() - entry.begin())
                            + " bytes but shape "
                            + Arrays.toString(entry.shape())
                            + " of "
                            + entry.dtype()
                            + " needs "
                            + bytes,
                    null);
        }
        if (bytes > Integer.MAX_VALUE) {
            throw new SafetensorsException(
                    file,
                    name,
                    "is " + bytes + " bytes; tensors of 2 GiB or more are not supported",
                    null);
        }
    }
}

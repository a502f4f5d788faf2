package io.peft4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format: truncated, a bad header, or tensors that do not fit
 * the data buffer.
 *
 * <p>It is a checked {@link IOException} on purpose: a malformed file is a failure of input, and
 * callers of {@link SafetensorsFile#read} handle it together with the I/O errors of the same call.
 * The message always starts with the file and, when the problem concerns one tensor, names it; both
 * are also available as {@link #file()} and {@link #key()}.
 */
public class SafetensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String key;

    /**
     * Creates an error about the whole file.
     *
     * @param file the file being read or written
     * @param message what is wrong, without the file name
     */
    public SafetensorsException(Path file, String message) {
        this(file, null, message, null);
    }

    /**
     * Creates an error about one tensor (or header key) of the file.
     *
     * @param file the file being read or written
     * @param key the tensor name or header key concerned, or {@code null} for the whole file
     * @param message what is wrong, without the file or key
     * @param cause the underlying error, or {@code null}
     */
    public SafetensorsException(Path file, String key, String message, Throwable cause) {
        super(describe(file, key, message), cause);
        this.file = file;
        this.key = key;
    }

    /**
     * Returns the file the error is about.
     *
     * @return the file
     */
    public Path file() {
        return file;
    }

    /**
     * Returns the tensor name or header key the error is about.
     *
     * @return the key, or {@code null} when the error concerns the whole file
     */
    public String key() {
        return key;
    }

    private static String describe(Path file, String key, String message) {
        StringBuilder text = new StringBuilder("safetensors file ").append(file).append(": ");
        if (SafetensorsFile.METADATA_KEY.equals(key)) {
            text.append("header key \"").append(key).append("\": ");
        } else if (key != null) {
            text.append("tensor \"").append(key).append("\": ");
        }
        return text.append(message).toString();
    }
}

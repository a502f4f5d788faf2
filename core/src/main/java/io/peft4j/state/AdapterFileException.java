package io.peft4j.state;

import java.nio.file.Path;

/**
 * An adapter's weights file that cannot be loaded into the model: it breaks the safetensors format, holds NaN or
 * infinite values, lacks keys the adapter needs, or has tensors whose shapes do not fit the adapted modules. The
 * message starts with the file; nothing of the adapter stays in the model.
 *
 * <p>An {@link IllegalArgumentException} (the file is bad input), so callers that handled the loader's earlier
 * {@code IllegalArgumentException}s keep working. Config problems are {@link io.peft4j.config.PeftConfigException}.
 */
public class AdapterFileException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * Creates the error.
     *
     * @param file the weights file
     * @param detail what is wrong, without the file
     * @param cause the underlying error, or {@code null}
     */
    public AdapterFileException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The weights file that was refused. */
    public Path file() {
        return file;
    }
}

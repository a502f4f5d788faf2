package io.peft4j.tuner;

/**
 * A forward pass was asked for adapters it cannot run (PEFT's {@code ValueError}s for {@code adapter_names}): an
 * adapter the model does not have, a mixed batch in training mode or with merged adapters, a per-row list whose
 * length is not the batch size. Unlike other failures inside the forward hooks, it reaches the caller: running the
 * batch with other adapters than asked would be silently wrong.
 */
public final class AdapterSelectionException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** An exception with {@code message}. */
    public AdapterSelectionException(String message) {
        super(message);
    }
}

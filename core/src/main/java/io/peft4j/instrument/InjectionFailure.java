package io.peft4j.instrument;

/**
 * Thrown out of the application's own call ({@code newTrainer}, {@code newPredictor}, {@code forward}) when adapters
 * that were asked for cannot be injected and the configuration says to fail rather than run without them.
 */
public class InjectionFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the failure with a message naming what went wrong. */
    public InjectionFailure(String message, Throwable cause) {
        super(message, cause);
    }
}

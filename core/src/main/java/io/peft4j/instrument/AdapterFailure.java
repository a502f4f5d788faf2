package io.peft4j.instrument;

/**
 * Thrown out of the application's own call ({@code forward}, {@code Trainer.step}, {@code backward}) when an
 * adapter's hook failed and the failure policy is {@link AdviceErrors.Policy#FAIL} (the default, and always when the
 * library is used without the agent): the request fails rather than silently return the base model's result. The
 * message names the module and its adapters; the cause is the original throwable.
 */
public class AdapterFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the failure with a message naming the module and adapter. */
    public AdapterFailure(String message, Throwable cause) {
        super(message, cause);
    }
}

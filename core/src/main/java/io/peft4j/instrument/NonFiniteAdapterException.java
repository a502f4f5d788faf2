package io.peft4j.instrument;

/**
 * An optimizer step left an adapter parameter with NaN or infinite values: thrown out of {@code Trainer.step()}
 * (whatever {@code onError} says: a non-finite adapter is never served or trained on silently), naming the module,
 * the parameter and the step. With {@link NonFiniteGuard.Policy#REVERT} the step is undone instead, unless it is the
 * {@value NonFiniteGuard#MAX_REVERTS}th in a row.
 */
public class NonFiniteAdapterException extends AdapterFailure {

    private static final long serialVersionUID = 1L;

    private final String module;
    private final String parameter;
    private final long step;

    /**
     * Creates the error.
     *
     * @param module the module path, e.g. {@code fc1}
     * @param parameter the parameter inside the module, e.g. {@code lora_A.default.weight}
     * @param step the 1-based number of the {@code Trainer.step()} call (of this model) that produced it
     * @param message the full message
     */
    public NonFiniteAdapterException(String module, String parameter, long step, String message) {
        super(message, null);
        this.module = module;
        this.parameter = parameter;
        this.step = step;
    }

    /** The module path. */
    public String module() {
        return module;
    }

    /** The parameter's name inside the module, adapter name included. */
    public String parameter() {
        return parameter;
    }

    /** The 1-based step number. */
    public long step() {
        return step;
    }
}

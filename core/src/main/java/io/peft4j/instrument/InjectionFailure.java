package io.peft4j.instrument;

/**
 * Thrown out of the application's own call ({@code newTrainer}, {@code newPredictor}, {@code forward}) when adapters
 * that were asked for cannot be injected and the configuration says to fail rather than run without them.
 *
 * <p>A failure the agent has already {@linkplain #reported(String, Throwable) reported} in an ERROR line of its log
 * keeps the whole message ({@link #getMessage()}) for code that catches it, but prints as one short line that points
 * to that log line, without stack trace or cause: the application's "Exception in thread main" adds no second copy
 * of the message and no stack trace of peft4j's internals. With {@code debug=true} ({@code -Dpeft4j.debug=true}) it
 * prints in full, stack trace and cause included.
 */
public class InjectionFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The short form {@link #toString()} gives, or {@code null} for the usual one. */
    private final String shortForm;

    /** Creates the failure with a message naming what went wrong. */
    public InjectionFailure(String message, Throwable cause) {
        super(message, cause);
        this.shortForm = null;
    }

    private InjectionFailure(String message, Throwable cause, String shortForm, boolean debug) {
        super(message, debug ? cause : null, true, debug);
        this.shortForm = debug ? null : shortForm;
    }

    /**
     * A failure whose {@code message} was just logged at ERROR: it prints as {@code InjectionFailure: SHORT (the
     * [peft4j] ERROR line above says why; debug=true prints the stack trace)} unless debug is on.
     *
     * @param shortMessage what failed, in a few words, e.g. {@code adapter 'default' was not injected into Mlp#1}
     */
    public static InjectionFailure reported(String message, String shortMessage, Throwable cause) {
        return new InjectionFailure(message, cause, shortMessage + " (the [peft4j] ERROR line above says why;"
                + " debug=true prints the stack trace)", Boolean.getBoolean("peft4j.debug"));
    }

    /** A further use of a model whose injection failed as {@code first} did: the same message and short form. */
    public static InjectionFailure again(InjectionFailure first) {
        if (first.shortForm == null) {
            return new InjectionFailure(first.getMessage(), first.getCause());
        }
        return new InjectionFailure(first.getMessage(), null, first.shortForm, false);
    }

    @Override
    public String toString() {
        return shortForm == null ? super.toString() : getClass().getName() + ": " + shortForm;
    }
}

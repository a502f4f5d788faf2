package io.peft4j.instrument;

import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * Thrown out of the application's own call ({@code newTrainer}, {@code newPredictor}, {@code forward}) when adapters
 * that were asked for cannot be injected and the configuration says to fail rather than run without them.
 *
 * <p>A failure the agent has already {@linkplain #reported(String, String, Throwable) reported} in an ERROR line of
 * its log keeps the whole message ({@link #getMessage()}) and its cause for code that catches it, but prints
 * ({@link #toString()}, {@link #printStackTrace()}) as one short line that points to that log line, without stack
 * trace or cause: the application's "Exception in thread main" adds no second copy of the message and no stack trace
 * of peft4j's internals. With {@code debug=true} ({@code -Dpeft4j.debug=true}) it prints in full.
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

    private InjectionFailure(String message, Throwable cause, String shortForm) {
        super(message, cause);
        this.shortForm = shortForm;
    }

    /**
     * A failure whose {@code message} was just logged at ERROR: it prints as {@code InjectionFailure: SHORT (the
     * [peft4j] ERROR line above says why; debug=true prints the stack trace)} unless debug is on.
     *
     * @param shortMessage what failed, in a few words, e.g. {@code adapter 'default' was not injected into Mlp#1}
     */
    public static InjectionFailure reported(String message, String shortMessage, Throwable cause) {
        return new InjectionFailure(message, cause, Boolean.getBoolean("peft4j.debug") ? null : shortMessage
                + " (the [peft4j] ERROR line above says why; debug=true prints the stack trace)");
    }

    /** A further use of a model whose injection failed as {@code first} did: the same message and short form. */
    public static InjectionFailure again(InjectionFailure first) {
        if (first.shortForm == null) {
            return new InjectionFailure(first.getMessage(), first.getCause());
        }
        return new InjectionFailure(first.getMessage(), first.getCause(), first.shortForm);
    }

    @Override
    public String toString() {
        return shortForm == null ? super.toString() : getClass().getName() + ": " + shortForm;
    }

    @Override
    public void printStackTrace(PrintStream s) {
        if (shortForm == null) {
            super.printStackTrace(s);
        } else {
            s.println(this);
        }
    }

    @Override
    public void printStackTrace(PrintWriter s) {
        if (shortForm == null) {
            super.printStackTrace(s);
        } else {
            s.println(this);
        }
    }
}

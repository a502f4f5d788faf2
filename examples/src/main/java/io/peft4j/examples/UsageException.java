package io.peft4j.examples;

/** A command line the demo cannot run: unknown command or option, missing or malformed value. */
public final class UsageException extends IllegalArgumentException {

    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}

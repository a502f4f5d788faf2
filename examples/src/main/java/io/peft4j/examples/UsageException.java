package io.peft4j.examples;

/** A command line the demo cannot run: unknown command or option, missing or malformed value. */
final class UsageException extends IllegalArgumentException {

    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.peft4j.agent.cli;

/** A command that could not do its work (exit status 1); the message names the pid, directory or option at fault. */
final class CommandFailure extends Exception {

    private static final long serialVersionUID = 1L;

    CommandFailure(String message) {
        super(message);
    }

    CommandFailure(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.peft4j.agent.cli;

/** A malformed command line: reported with the command's usage, exit status 2. */
final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    /** The usage text of the command at fault. */
    final String usage;

    UsageException(String message, String usage) {
        super(message);
        this.usage = usage;
    }
}

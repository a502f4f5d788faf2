package io.peft4j.io;

import java.io.IOException;

/** JSON text that {@link JsonReader} cannot read: what is wrong and where (line and column count from 1). */
public final class JsonSyntaxException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String reason;
    private final int line;
    private final int column;

    JsonSyntaxException(String reason, int line, int column) {
        super(reason + " (line " + line + ", column " + column + ")");
        this.reason = reason;
        this.line = line;
        this.column = column;
    }

    /** What is wrong, without the position. */
    public String reason() {
        return reason;
    }

    /** The line of the error, from 1. */
    public int line() {
        return line;
    }

    /** The column of the error in its line, from 1 (in UTF-16 characters). */
    public int column() {
        return column;
    }
}

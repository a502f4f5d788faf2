package io.peft4j.config;

/**
 * An adapter configuration peft4j cannot use: invalid as PEFT would judge it, malformed, or using a PEFT feature
 * peft4j does not implement.
 *
 * <p>Messages read {@code SOURCE: field "KEY": DETAIL}, where SOURCE names the file (or builder) and KEY the JSON
 * key at fault, e.g. {@code /adapters/a/adapter_config.json: field "use_dora": value true is not supported by
 * peft4j yet}. When PEFT itself rejects the value, DETAIL is PEFT's own message, also available unchanged from
 * {@link #peftMessage()}.
 */
public class PeftConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final String field;
    private final String peftMessage;

    /** A problem not tied to a config file or key (used by code outside this package). */
    public PeftConfigException(String message) {
        super(message);
        this.source = null;
        this.field = null;
        this.peftMessage = null;
    }

    /**
     * A problem with one key of one config.
     *
     * @param source the file or builder the config came from
     * @param field the JSON key at fault, or {@code null} when the problem is not about one key
     * @param detail what is wrong
     */
    public PeftConfigException(String source, String field, String detail) {
        this(source, field, detail, null, null);
    }

    /**
     * {@link #PeftConfigException(String, String, String)} with the exception that revealed the problem.
     *
     * @param cause e.g. the regex syntax error of a {@code target_modules} pattern
     */
    public PeftConfigException(String source, String field, String detail, Throwable cause) {
        this(source, field, detail, null, cause);
    }

    /** A problem not tied to a config file or key, which PEFT raises with {@code peftMessage}, told in full. */
    protected PeftConfigException(String message, String peftMessage) {
        super(message);
        this.source = null;
        this.field = null;
        this.peftMessage = peftMessage;
    }

    /** A problem with one config, which PEFT raises with {@code peftMessage} (or {@code null}). */
    protected PeftConfigException(String source, String field, String detail, String peftMessage) {
        this(source, field, detail, peftMessage, null);
    }

    private PeftConfigException(String source, String field, String detail, String peftMessage, Throwable cause) {
        super(format(source, field, detail), cause);
        this.source = source;
        this.field = field;
        this.peftMessage = peftMessage;
    }

    /** A value PEFT 0.20 itself rejects; {@code peftMessage} is PEFT's exact text. */
    static PeftConfigException peft(String source, String field, String peftMessage) {
        return new PeftConfigException(source, field, peftMessage, peftMessage, null);
    }

    /** A value PEFT 0.20 itself rejects with {@code peftMessage}, followed by peft4j's {@code note}. */
    static PeftConfigException peft(String source, String field, String peftMessage, String note) {
        return new PeftConfigException(source, field, peftMessage + note, peftMessage, null);
    }

    /** This error with {@code note} appended to its message (same source, field and PEFT message). */
    PeftConfigException withNote(String note) {
        String detail = getMessage().substring(format(source, field, "").length());
        return new PeftConfigException(source, field, detail + note, peftMessage, getCause());
    }

    /** A config that could not be read at all (I/O or JSON syntax). */
    static PeftConfigException unreadable(String source, String detail, Throwable cause) {
        return new PeftConfigException(source, null, detail, null, cause);
    }

    /**
     * This error as raised for the config read from {@code source} (a file): the same field, detail and PEFT message,
     * the source named first. Returns {@code this} when it already names a source or {@code source} is null.
     */
    public PeftConfigException from(String source) {
        if (this.source != null || source == null) {
            return this;
        }
        String detail = field == null ? getMessage() : getMessage().substring(format(null, field, "").length());
        return new PeftConfigException(source, field, detail, peftMessage, this);
    }

    private static String format(String source, String field, String detail) {
        StringBuilder sb = new StringBuilder();
        if (source != null) {
            sb.append(source).append(": ");
        }
        if (field != null) {
            sb.append("field \"").append(field).append("\": ");
        }
        return sb.append(detail).toString();
    }

    /** Returns the file or builder the config came from, or {@code null}. */
    public String source() {
        return source;
    }

    /** Returns the JSON key at fault, or {@code null} when the problem is not about one key. */
    public String field() {
        return field;
    }

    /** Returns PEFT 0.20's own message when PEFT rejects the config the same way, otherwise {@code null}. */
    public String peftMessage() {
        return peftMessage;
    }
}

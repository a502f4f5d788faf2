package io.peft4j.log;

import java.util.function.Consumer;

/**
 * peft4j's logger: SLF4J when the application has a real SLF4J provider, otherwise standard error with a
 * {@code [peft4j]} prefix, so that what the agent did is never lost in a NOP logger.
 *
 * <p>Messages use SLF4J's {@code {}} placeholders in both cases.
 */
public final class PeftLog {

    private static volatile Boolean useSlf4j;
    private static volatile boolean slf4jHeld;
    private static volatile Consumer<String> testSink;

    private final String name;

    private PeftLog(String name) {
        this.name = name;
    }

    /** Returns the logger named after {@code type}. */
    public static PeftLog get(Class<?> type) {
        return new PeftLog(type.getName());
    }

    /** Routes every message (after formatting, with its level) to {@code sink} too; {@code null} stops it. */
    public static void captureForTests(Consumer<String> sink) {
        testSink = sink;
    }

    /**
     * While held, messages go to standard error and SLF4J is not touched: the agent holds it during {@code premain},
     * where initialising SLF4J would configure the application's logging before its {@code main} runs.
     */
    public static void holdSlf4j(boolean hold) {
        slf4jHeld = hold;
    }

    /** Logs at INFO. */
    public void info(String format, Object... args) {
        log("INFO", format, args);
    }

    /** Logs at WARN. */
    public void warn(String format, Object... args) {
        log("WARN", format, args);
    }

    /** Logs at ERROR. */
    public void error(String format, Object... args) {
        log("ERROR", format, args);
    }

    /** Logs at DEBUG (standard error only when {@code -Dpeft4j.debug=true}). */
    public void debug(String format, Object... args) {
        log("DEBUG", format, args);
    }

    private void log(String level, String format, Object... args) {
        Consumer<String> sink = testSink;
        if (sink != null) {
            sink.accept(level + " " + format(format, args));
        }
        if (!slf4jHeld && slf4jAvailable()) {
            try {
                Slf4jBridge.log(name, level, format, args);
                return;
            } catch (LinkageError e) {
                useSlf4j = Boolean.FALSE;
            }
        }
        if ("DEBUG".equals(level) && !Boolean.getBoolean("peft4j.debug")) {
            return;
        }
        StringBuilder line = new StringBuilder("[peft4j] ").append(level).append(' ').append(format(format, args));
        Throwable t = lastThrowable(args);
        System.err.println(line);
        if (t != null) {
            t.printStackTrace(System.err);
        }
    }

    private static boolean slf4jAvailable() {
        Boolean use = useSlf4j;
        if (use == null) {
            Boolean found;
            try {
                found = Slf4jBridge.hasRealProvider();
            } catch (LinkageError e) {
                found = Boolean.FALSE;
            }
            if (found == null) {
                return false;
            }
            useSlf4j = use = found;
        }
        return use;
    }

    private static Throwable lastThrowable(Object[] args) {
        if (args != null && args.length > 0 && args[args.length - 1] instanceof Throwable) {
            return (Throwable) args[args.length - 1];
        }
        return null;
    }

    /** Formats SLF4J-style {@code {}} placeholders. */
    static String format(String format, Object... args) {
        if (args == null || args.length == 0) {
            return format;
        }
        StringBuilder sb = new StringBuilder();
        int argIndex = 0;
        int i = 0;
        while (i < format.length()) {
            if (i + 1 < format.length() && format.charAt(i) == '{' && format.charAt(i + 1) == '}'
                    && argIndex < args.length) {
                sb.append(args[argIndex++]);
                i += 2;
            } else {
                sb.append(format.charAt(i++));
            }
        }
        return sb.toString();
    }
}

package io.peft4j.instrument;

import io.peft4j.log.PeftLog;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts and reports every throwable that peft4j's hooks swallowed so that the host application kept running.
 * Suppressed is never silent: the first error of each kind is logged with its stack trace, every one is counted, and
 * tests assert the count is zero.
 */
public final class AdviceErrors {

    private static final PeftLog LOG = PeftLog.get(AdviceErrors.class);
    private static final AtomicLong COUNT = new AtomicLong();
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();

    private AdviceErrors() {}

    /** Records a suppressed throwable raised while {@code where}. */
    public static void record(String where, Throwable t) {
        COUNT.incrementAndGet();
        if (REPORTED.add(where + ":" + t.getClass().getName())) {
            LOG.error("error while {}; the base model's result is used instead (further errors of this kind are "
                    + "only counted): {}", where, t.toString(), t);
        }
    }

    /** How many throwables were suppressed since start (or the last reset). */
    public static long count() {
        return COUNT.get();
    }

    /** Resets the count (tests). */
    public static void reset() {
        COUNT.set(0);
        REPORTED.clear();
    }
}

package io.peft4j.instrument;

import io.peft4j.log.PeftLog;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The failure policy of peft4j's hooks, and the record of their errors.
 *
 * <p>An error in a hook of an adapted module ({@link #hookFailed}: an adapter's forward, a parameter fetch, a method's
 * training step) is counted per module and, with {@link Policy#FAIL} (the default), makes the application's call
 * fail with an {@link AdapterFailure} naming the module and adapter; with {@link Policy#WARN} (the agent's
 * {@code onError=warn}) the base model's result is used and the first error of each module is logged with its cause.
 *
 * <p>Errors that do not concern an adapted module (finding whether a block has adapters at all, {@link #record}) are
 * always suppressed so that un-adapted models keep running: counted, and the first of each kind logged.
 */
public final class AdviceErrors {

    /** What a hook error does to the application's call. */
    public enum Policy {
        /** The call fails with an {@link AdapterFailure}. */
        FAIL,
        /** The call returns the base model's result; the error is counted and logged once per module. */
        WARN
    }

    /** The errors of one module: how many, and the last one ({@code where: cause}). */
    public record ModuleErrors(long count, String lastError) {}

    private static final PeftLog LOG = PeftLog.get(AdviceErrors.class);
    private static final AtomicLong COUNT = new AtomicLong();
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();
    private static final Map<String, ModuleErrors> BY_MODULE = new ConcurrentHashMap<>();
    private static volatile Policy policy = Policy.FAIL;

    private AdviceErrors() {}

    /** Sets the policy for hook errors (the agent's {@code onError}); {@link Policy#FAIL} until set. */
    public static void setPolicy(Policy newPolicy) {
        policy = java.util.Objects.requireNonNull(newPolicy, "policy");
    }

    /** The policy for hook errors. */
    public static Policy policy() {
        return policy;
    }

    /**
     * A hook of the adapted module {@code module} (adapters {@code adapters}) failed while {@code what}: counted for
     * the module, then thrown as an {@link AdapterFailure} ({@link Policy#FAIL}) or logged once per module and
     * returned from ({@link Policy#WARN}, the caller then uses the base result).
     */
    public static void hookFailed(String module, String adapters, String what, Throwable t) {
        failed(module, "adapter " + adapters + " of module '" + module + "'", what, t);
    }

    /**
     * As {@link #hookFailed}, for a failure counted under {@code key} and described as {@code subject} (a training
     * hook: {@code the AdaLoraTraining training hook of adapters [default]}).
     */
    public static void failed(String key, String subject, String what, Throwable t) {
        if (t instanceof AdapterFailure) {
            throw (AdapterFailure) t;
        }
        String module = key;
        String message = subject + " failed while " + what + ": " + t;
        BY_MODULE.merge(module, new ModuleErrors(1, what + ": " + t),
                (old, now) -> new ModuleErrors(old.count() + 1, now.lastError()));
        if (policy == Policy.FAIL) {
            throw new AdapterFailure(message, t);
        }
        COUNT.incrementAndGet();
        if (REPORTED.add("module:" + module)) {
            LOG.error("{}; onError=warn: the base model's result is used instead (further errors of this module are "
                    + "only counted)", message, t);
        }
    }

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

    /** The hook errors of each module (failed or suppressed), by module path. */
    public static Map<String, ModuleErrors> byModule() {
        return new TreeMap<>(BY_MODULE);
    }

    /** Resets the counts (tests); the policy is kept. */
    public static void reset() {
        COUNT.set(0);
        REPORTED.clear();
        BY_MODULE.clear();
    }
}

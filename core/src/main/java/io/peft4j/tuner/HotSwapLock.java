package io.peft4j.tuner;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * The hot-swap lock of one model: forward passes hold it shared, changes to the adapters hold it exclusively, so that
 * every pass sees the adapters either before or after a change, never a mix. A change also holds the model's monitor,
 * which the model's readers synchronize on.
 */
final class HotSwapLock {

    private final ReentrantReadWriteLock passes = new ReentrantReadWriteLock();
    private final Object monitor;

    /** A lock whose changes also hold {@code monitor}. */
    HotSwapLock(Object monitor) {
        this.monitor = monitor;
    }

    /** A forward pass starts: changes wait until {@link #endForward()}. */
    void beginForward() {
        passes.readLock().lock();
    }

    /** The forward pass started with {@link #beginForward()} ended. */
    void endForward() {
        passes.readLock().unlock();
    }

    /**
     * Runs {@code change} while no forward pass runs. Called from inside a forward pass on the same thread, it runs at
     * once (a read hold cannot be upgraded).
     */
    <T> T exclusive(Supplier<T> change) {
        if (passes.getReadHoldCount() > 0) {
            synchronized (monitor) {
                return change.get();
            }
        }
        passes.writeLock().lock();
        try {
            synchronized (monitor) {
                return change.get();
            }
        } finally {
            passes.writeLock().unlock();
        }
    }
}

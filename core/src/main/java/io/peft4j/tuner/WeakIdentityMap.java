package io.peft4j.tuner;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A concurrent map keyed by object identity that does not keep its keys alive: per-instance state for DJL blocks and
 * parameters whose classes we cannot add fields to (retransformation cannot change a class's shape).
 *
 * <p>Reads take no lock; entries whose key was collected are dropped on the next write.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class WeakIdentityMap<K, V> {

    private final ConcurrentHashMap<Object, V> map = new ConcurrentHashMap<>();
    private final ReferenceQueue<K> queue = new ReferenceQueue<>();

    /** The value for {@code key}, or {@code null}. */
    public V get(K key) {
        if (key == null || map.isEmpty()) {
            return null;
        }
        return map.get(new LookupKey(key));
    }

    /** Associates {@code value} with {@code key}; returns the previous value or {@code null}. */
    public V put(K key, V value) {
        expunge();
        return map.put(new WeakKey<>(key, queue), value);
    }

    /** Returns the existing value or stores and returns the computed one. */
    public V computeIfAbsent(K key, Function<K, V> factory) {
        V existing = get(key);
        if (existing != null) {
            return existing;
        }
        expunge();
        return map.computeIfAbsent(new WeakKey<>(key, queue), k -> factory.apply(key));
    }

    /** Removes {@code key}; returns its value or {@code null}. */
    public V remove(K key) {
        expunge();
        return map.remove(new LookupKey(key));
    }

    /** Whether no live entry is left. */
    public boolean isEmpty() {
        expunge();
        return map.isEmpty();
    }

    /** A snapshot of the live values. */
    public List<V> values() {
        expunge();
        return new ArrayList<>(map.values());
    }

    private void expunge() {
        Object ref;
        while ((ref = queue.poll()) != null) {
            map.remove(ref);
        }
    }

    private static final class WeakKey<K> extends WeakReference<K> {
        private final int hash;

        WeakKey(K referent, ReferenceQueue<K> queue) {
            super(referent, queue);
            this.hash = System.identityHashCode(referent);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object other) {
            if (this == other) {
                return true;
            }
            Object mine = get();
            if (mine == null) {
                return false;
            }
            if (other instanceof WeakKey) {
                return mine == ((WeakKey<?>) other).get();
            }
            if (other instanceof LookupKey) {
                return mine == ((LookupKey) other).referent;
            }
            return false;
        }
    }

    private static final class LookupKey {
        private final Object referent;
        private final int hash;

        LookupKey(Object referent) {
            this.referent = referent;
            this.hash = System.identityHashCode(referent);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object other) {
            if (other instanceof WeakKey) {
                return referent == ((WeakKey<?>) other).get();
            }
            return other instanceof LookupKey && referent == ((LookupKey) other).referent;
        }
    }
}

package io.peft4j.tuner;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The adapters the current thread's forward passes use instead of the model's active set: either a set of adapter
 * names for every row ({@link io.peft4j.Peft#useAdapters}), or one adapter per row of the batch, PEFT's
 * {@code adapter_names} ({@link io.peft4j.Peft#useAdapterPerRow}, {@value #BASE} for the base model). Only a thread
 * local: no lock is taken, so threads with different selections run concurrently on one model.
 *
 * <p>Selections nest: {@link #close()} restores the selection that was current when this one was opened.
 */
public final class AdapterSelection implements AutoCloseable {

    /** PEFT's name for "no adapter" in {@code adapter_names}. */
    public static final String BASE = "__base__";

    private static final ThreadLocal<AdapterSelection> CURRENT = new ThreadLocal<>();

    private final List<String> names;
    private final List<String> rows;
    private final Map<String, long[]> groups;
    private final Map<Device, Map<String, NDArray>> indices = new ConcurrentHashMap<>();
    private final AdapterSelection previous;
    private final Thread owner;
    private NDManager manager;
    private boolean closed;

    private AdapterSelection(List<String> names, List<String> rows) {
        this.names = names;
        this.rows = rows;
        this.groups = rows == null ? Map.of() : group(rows);
        this.previous = CURRENT.get();
        this.owner = Thread.currentThread();
    }

    /**
     * Makes {@code names} the adapters of this thread's forward passes until {@link #close()}; no name, {@code "none"}
     * or an empty name means the base model.
     */
    public static AdapterSelection open(List<String> names) {
        List<String> kept = new ArrayList<>();
        for (String name : names) {
            if (name == null) {
                throw new IllegalArgumentException("adapter names must not be null: " + names);
            }
            String n = name.strip();
            if (!n.isEmpty() && !n.equals("none") && !n.equals(BASE) && !kept.contains(n)) {
                kept.add(n);
            }
        }
        return install(new AdapterSelection(List.copyOf(kept), null));
    }

    /**
     * Makes {@code rows} the adapter of each row (first axis) of this thread's forward passes until {@link #close()},
     * as PEFT's {@code adapter_names}: {@value #BASE} (or {@code "none"}, or empty) for the base model.
     */
    public static AdapterSelection perRow(List<String> rows) {
        if (rows == null || rows.isEmpty()) {
            throw new IllegalArgumentException("a per-row adapter list needs at least one row");
        }
        List<String> normal = new ArrayList<>(rows.size());
        for (String name : rows) {
            if (name == null) {
                throw new IllegalArgumentException("adapter names must not be null: " + rows);
            }
            String n = name.strip();
            normal.add(n.isEmpty() || n.equals("none") ? BASE : n);
        }
        return install(new AdapterSelection(null, Collections.unmodifiableList(normal)));
    }

    private static AdapterSelection install(AdapterSelection selection) {
        CURRENT.set(selection);
        return selection;
    }

    /** The current thread's selection, or {@code null} (the model's active set applies). */
    public static AdapterSelection current() {
        return CURRENT.get();
    }

    private static Map<String, long[]> group(List<String> rows) {
        Map<String, List<Integer>> byName = new LinkedHashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            byName.computeIfAbsent(rows.get(i), k -> new ArrayList<>()).add(i);
        }
        Map<String, long[]> out = new LinkedHashMap<>();
        byName.forEach((name, list) -> {
            if (!name.equals(BASE)) {
                out.put(name, list.stream().mapToLong(Integer::longValue).toArray());
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** Whether this is a per-row selection (a mixed batch). */
    public boolean isPerRow() {
        return rows != null;
    }

    /** The adapters of every row ({@link #isPerRow()} false); empty means the base model. */
    public List<String> names() {
        return names;
    }

    /** The adapter of each row ({@link #isPerRow()} true), {@value #BASE} for the base model. */
    public List<String> rows() {
        return rows;
    }

    /** The adapter names used, base excluded, in order of first use. */
    public Set<String> adapterNames() {
        return rows == null ? new LinkedHashSet<>(names) : groups.keySet();
    }

    /** The rows of each adapter (base rows excluded), by adapter in order of first row. */
    public Map<String, long[]> groups() {
        return groups;
    }

    /**
     * The row indices of adapter {@code name} as an index array on the device of {@code like}, made once per selection
     * and device and owned by the selection (released by {@link #close()}).
     */
    public NDIndex rowIndex(String name, NDArray like) {
        Device device = like.getDevice();
        Map<String, NDArray> perDevice = indices.computeIfAbsent(device, d -> new ConcurrentHashMap<>());
        NDArray index = perDevice.get(name);
        if (index == null) {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("the per-row adapter selection was closed");
                }
                if (manager == null) {
                    manager = like.getManager().getEngine().newBaseManager(device);
                }
                index = perDevice.computeIfAbsent(name, n -> {
                    // Made inside a module's NDScope: owned by this selection's manager, not by that scope.
                    NDArray made = manager.create(groups.get(n)).toDevice(device, false);
                    NDScope.unregister(made);
                    return made;
                });
            }
        }
        return new NDIndex("{}", index);
    }

    /**
     * Checks that this selection is used on the thread that opened it and restores the previous selection of the
     * thread; releases the index arrays.
     */
    @Override
    public void close() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("an adapter selection must be closed on the thread that opened it ("
                    + owner.getName() + "), not on " + Thread.currentThread().getName());
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (manager != null) {
                manager.close();
            }
        }
        if (CURRENT.get() == this) {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    @Override
    public String toString() {
        return rows == null ? "adapters " + (names.isEmpty() ? "[] (base model)" : names) : "adapter per row " + rows;
    }
}

package io.peft4j.agent;

import ai.djl.nn.Block;
import io.peft4j.tuner.WeakIdentityMap;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models (root blocks) the application has used since the agent started, each with a short id for operators
 * ({@code Mlp#1}: the root block's simple class name and a sequence number in order of first use). Roots are held
 * weakly: a model the application drops disappears from here too.
 */
public final class KnownModels {

    private final WeakIdentityMap<Block, Entry> entries = new WeakIdentityMap<>();
    private final AtomicInteger sequence = new AtomicInteger();

    /** One known root. */
    private static final class Entry {
        final int number;
        final String id;
        final WeakReference<Block> root;

        Entry(int number, Block root) {
            this.number = number;
            this.id = root.getClass().getSimpleName() + "#" + number;
            this.root = new WeakReference<>(root);
        }
    }

    /** The id of {@code root}, registering it on first sight. */
    public String idOf(Block root) {
        return entry(root).id;
    }

    private Entry entry(Block root) {
        Entry e = entries.get(root);
        if (e != null) {
            return e;
        }
        synchronized (this) {
            return entries.computeIfAbsent(root, r -> new Entry(sequence.incrementAndGet(), r));
        }
    }

    /** Registers {@code root} (no-op when known). */
    public void register(Block root) {
        entry(root);
    }

    /** Every live known root, in order of first sight. */
    public List<Block> roots() {
        List<Entry> list = new ArrayList<>(entries.values());
        list.sort(Comparator.comparingInt(e -> e.number));
        List<Block> out = new ArrayList<>();
        for (Entry e : list) {
            Block b = e.root.get();
            if (b != null) {
                out.add(b);
            }
        }
        return out;
    }

    /** Orders blocks by their id's sequence number (registering unknown ones). */
    public Comparator<Block> order() {
        return Comparator.comparingInt(b -> entry(b).number);
    }
}

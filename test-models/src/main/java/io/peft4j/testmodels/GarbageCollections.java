package io.peft4j.testmodels;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A garbage collection that has run to completion, for tests of native memory lent to libtorch: a full collection,
 * waited for until the JVM has processed the references it found (freeing direct buffers is part of that), twice
 * (the second batch is handled only after the first); then small direct buffers full of {@code 0x7f} bytes are
 * allocated, which take the freed memory, so that a tensor still reading it reads garbage instead of its old value.
 */
public final class GarbageCollections {

    private GarbageCollections() {}

    /**
     * Collects and litters as described above.
     *
     * @return the litter: keep it reachable until the code under test has read what it reads
     * @throws IllegalStateException when the collector did not process references within a minute
     */
    public static List<ByteBuffer> collectAndLitter() throws InterruptedException {
        for (int round = 0; round < 2; round++) {
            ReferenceQueue<Object> queue = new ReferenceQueue<>();
            WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
            System.gc();
            if (queue.remove(60_000) == null || sentinel.get() != null) {
                throw new IllegalStateException("the garbage collector did not process references in 60 s");
            }
        }
        List<ByteBuffer> litter = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(4 + i % 28);
            while (b.hasRemaining()) {
                b.put((byte) 0x7f);
            }
            litter.add(b);
        }
        return litter;
    }
}

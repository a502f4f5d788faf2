package io.peft4j.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The woven {@code AbstractBaseBlock.forward}: outermost forwards are reported, also after a forward threw. */
class DjlWeaverTest {

    /** A block whose forward calls its child's, then optionally throws. */
    static final class Outer extends AbstractBlock {
        final Inner inner = new Inner();
        boolean fail;

        Outer() {
            addChildBlock("inner", inner);
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            NDList out = inner.forward(store, inputs, training, params);
            if (fail) {
                throw new IllegalStateException("boom");
            }
            return out;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /** Identity. */
    static final class Inner extends AbstractBlock {
        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return inputs;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    @AfterEach
    void noListener() {
        ModelHooks.setListener(null);
    }

    @Test
    void aForwardThatThrowsStillEndsItsPass() {
        PeftInstrumentation.ensureInstalled();
        List<Block> roots = new ArrayList<>();
        ModelHooks.setListener((root, trigger) -> roots.add(root));
        try (NDManager manager = NDManager.newBaseManager()) {
            Outer outer = new Outer();
            NDList input = new NDList(manager.ones(new Shape(2)));
            ParameterStore store = new ParameterStore(manager, false);
            outer.forward(store, input, false);
            outer.fail = true;
            assertThrows(IllegalStateException.class, () -> outer.forward(store, input, false));
            outer.fail = false;
            outer.forward(store, input, false);
            outer.inner.forward(store, input, false);
        }
        assertEquals(4, roots.size(), "every outermost forward is reported: " + roots);
        assertEquals(List.of("Outer", "Outer", "Outer", "Inner"),
                roots.stream().map(b -> b.getClass().getSimpleName()).toList());
        assertEquals(0, PeftInstrumentation.transformErrors());
    }

    @Test
    void theEngineTaskRunsOnceWhenDjlsEngineClassLoadsAndNeverOnARetransformation() throws Exception {
        byte[] engine;
        try (java.io.InputStream in = ClassLoader.getSystemResourceAsStream("ai/djl/engine/Engine.class")) {
            engine = in.readAllBytes();
        }
        ClassLoader loader = ClassLoader.getSystemClassLoader();
        java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
        DjlWeaver weaver = new DjlWeaver();
        try {
            PeftInstrumentation.whenEngineLoads(runs::incrementAndGet);
            weaver.transform(null, loader, "ai/djl/engine/EngineProvider", null, null, engine);
            weaver.transform(null, loader, "ai/djl/engine/Engine", ai.djl.engine.Engine.class, null, engine);
            assertEquals(0, runs.get(), "not for another class, not when an Engine already loaded is retransformed");
            weaver.transform(null, loader, "ai/djl/engine/Engine", null, null, engine);
            weaver.transform(null, loader, "ai/djl/engine/Engine", null, null, engine);
            assertEquals(1, runs.get(), "once, when the class loads");
            PeftInstrumentation.whenEngineLoads(() -> {
                throw new IllegalStateException("boom");
            });
            List<String> logged = new ArrayList<>();
            io.peft4j.log.PeftLog.captureForTests(logged::add);
            try {
                weaver.transform(null, loader, "ai/djl/engine/Engine", null, null, engine);
            } finally {
                io.peft4j.log.PeftLog.captureForTests(null);
            }
            assertEquals(List.of("WARN could not start the work planned for when DJL's engine loads:"
                    + " java.lang.IllegalStateException: boom"), logged, "logged, never thrown into class loading");
        } finally {
            PeftInstrumentation.whenEngineLoads(null);
        }
    }
}

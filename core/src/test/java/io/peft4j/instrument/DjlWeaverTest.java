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
}

package io.peft4j.model;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.peft4j.log.PeftLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTreeTest {

    @AfterEach
    void tearDown() {
        PeftLog.captureForTests(null);
    }

    /** A container like a user writes: children named after the torch attributes. */
    static final class Encoder extends AbstractBlock {
        Encoder(Block... layers) {
            SequentialBlock seq = new SequentialBlock();
            for (Block b : layers) {
                seq.add(b);
            }
            addChildBlock("layers", seq);
            addChildBlock("head", Linear.builder().setUnits(2).build());
        }

        void addDuplicate(String name, Block block) {
            addChildBlock(name, block);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return inputs;
        }

        @Override
        public ai.djl.ndarray.types.Shape[] getOutputShapes(ai.djl.ndarray.types.Shape[] inputShapes) {
            return inputShapes;
        }
    }

    @Test
    void namesLikePyTorch() {
        Encoder encoder = new Encoder(Linear.builder().setUnits(4).build(), Activation.reluBlock(),
                new ParallelBlock(list -> list.get(0), List.of(Linear.builder().setUnits(3).build(),
                        Linear.builder().setUnits(3).build())));
        ModuleTree tree = ModuleTree.of(encoder);
        List<String> paths = tree.nodes().stream().map(ModuleNode::path).collect(Collectors.toList());
        assertEquals(List.of("", "layers", "layers.0", "layers.1", "layers.2", "layers.2.0", "layers.2.1", "head"),
                paths);
        assertEquals("head", tree.find("head").orElseThrow().name());
        assertSame(encoder, tree.root().block());
        assertTrue(tree.describe().contains("head: Linear"));
    }

    @Test
    void duplicateNamesKeepTheOrdinalAndSaySo() {
        List<String> log = new ArrayList<>();
        PeftLog.captureForTests(log::add);
        Encoder encoder = new Encoder(Linear.builder().setUnits(4).build());
        encoder.addDuplicate("head", Linear.builder().setUnits(2).build());
        List<String> paths = ModuleTree.of(encoder).nodes().stream().map(ModuleNode::path)
                .collect(Collectors.toList());
        assertEquals(List.of("", "layers", "layers.0", "02head", "03head"), paths);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("WARN") && l.contains("share the name 'head'")
                && l.contains("'02head'")), log.toString());
    }

    @Test
    void ordinalsBeyondNinetyNine() {
        assertEquals("x", ModuleTree.stripOrdinal("100x", 100));
        assertEquals("07fc", ModuleTree.stripOrdinal("07fc", 3));
        assertEquals("fc", ModuleTree.stripOrdinal("03fc", 3));
    }

    @Test
    void sharedBlockListedOnce() {
        Linear shared = Linear.builder().setUnits(4).build();
        SequentialBlock seq = new SequentialBlock().add(shared).add(shared);
        List<String> paths = ModuleTree.of(seq).nodes().stream().map(ModuleNode::path).collect(Collectors.toList());
        assertEquals(List.of("", "0"), paths);
    }

    @Test
    void torchParameterNames() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block norm = ai.djl.nn.norm.BatchNorm.builder().build();
            norm.initialize(manager, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(2, 3));
            List<String> names = norm.getDirectParameters().keys().stream()
                    .map(n -> TorchParameterNames.torchName(norm, n)).collect(Collectors.toList());
            assertEquals(List.of("weight", "bias", "running_mean", "running_var"), names);
        }
    }
}

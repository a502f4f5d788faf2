package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.List;
import java.util.function.IntFunction;

/** The models the benchmarks run: plain DJL blocks, as an application would build them. */
public final class Models {

    /** Batch size of every benchmark. */
    public static final int BATCH = 64;
    /** Linear layers of the MLP. */
    public static final int LAYERS = 4;
    /** PEFT module paths of the MLP's Linear layers ({@code nn.Sequential} numbering; ReLUs are 1, 3, 5). */
    public static final List<String> MLP_LINEARS = List.of("0", "2", "4", "6");

    private Models() {}

    /** {@code Linear(width) -> ReLU -> ... -> Linear(width)}: {@link #LAYERS} Linear layers. */
    public static SequentialBlock mlp(int width) {
        return mlp(width, i -> Linear.builder().setUnits(width).build());
    }

    /** The same MLP with each Linear replaced by {@code layer.apply(i)}. */
    public static SequentialBlock mlp(int width, IntFunction<Block> layer) {
        SequentialBlock block = new SequentialBlock();
        for (int i = 0; i < LAYERS; i++) {
            if (i > 0) {
                block.add(Activation.reluBlock());
            }
            block.add(layer.apply(i));
        }
        return block;
    }

    /** One {@code Linear(width)} (module path {@code 0}) in a Sequential, as a model holding a single layer. */
    public static SequentialBlock linear(int width) {
        return new SequentialBlock().add(Linear.builder().setUnits(width).build());
    }

    /** Initialises {@code block} for {@code [BATCH, width]} float input, with a fixed seed. */
    public static void initialize(Block block, NDManager manager, int width) {
        Engine.getInstance().setRandomSeed(20240601);
        block.initialize(manager, DataType.FLOAT32, new Shape(BATCH, width));
    }

    /** A {@code [BATCH, width]} input in [-1, 1). */
    public static NDArray input(NDManager manager, int width) {
        return manager.randomUniform(-1f, 1f, new Shape(BATCH, width));
    }

    /**
     * One inference forward pass; every array it creates is freed before returning (the input is attached to a
     * sub-manager for the pass). Returns a value that depends on the output, for the blackhole.
     */
    public static long forward(Block block, ParameterStore store, NDManager manager, NDArray x) {
        try (NDManager pass = manager.newSubManager()) {
            x.tempAttach(pass);
            NDList out = block.forward(store, new NDList(x), false);
            return out.head().getShape().size();
        }
    }

    /**
     * A second, unrelated model with one child named {@code decoy}: the {@code untargeted} adapter targets it, so
     * that in the agent-overhead benchmark peft4j's registry is not empty while the benchmarked MLP stays untargeted.
     */
    public static final class Decoy extends AbstractBlock {
        private final Block decoy;

        /** Creates the decoy. */
        public Decoy(int width) {
            decoy = addChildBlock("decoy", Linear.builder().setUnits(width).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return decoy.forward(store, inputs, training, params);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return decoy.getOutputShapes(inputs);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            decoy.initialize(manager, dataType, inputShapes);
        }
    }
}

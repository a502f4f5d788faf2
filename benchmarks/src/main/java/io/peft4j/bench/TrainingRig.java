package io.peft4j.bench;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Adam;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * DJL training of the 4-layer MLP with its ordinary {@link Trainer} and Adam, L2 loss on a fixed {@code [64, width]}
 * batch: either every weight (full fine-tuning) or, after {@code Peft.injectAdapter}, only LoRA r=8 on the four
 * Linear layers.
 */
public final class TrainingRig implements AutoCloseable {

    private final Model model;
    private final Block block;
    private final Adam adam;
    private final Trainer trainer;
    private final NDManager data;
    private final NDArray x;
    private final NDArray y;

    /** What trains. */
    public enum Mode {
        /** Every weight and bias (no peft4j). */
        FULL,
        /** LoRA r=8 injected with {@code Peft.injectAdapter}; base frozen. */
        LORA,
        /** The same LoRA written by hand as DJL blocks ({@link HandLoraLinear}), base frozen; no peft4j. */
        HAND
    }

    /** Builds the model, injects LoRA when {@code lora}, creates and initialises the Trainer. */
    public TrainingRig(int width, boolean lora) {
        this(width, lora ? Mode.LORA : Mode.FULL);
    }

    /** Builds the model for {@code mode}, creates and initialises the Trainer. */
    public TrainingRig(int width, Mode mode) {
        model = Model.newInstance("mlp");
        block = mode == Mode.HAND ? Models.mlp(width, i -> new HandLoraLinear(width, Setups.RANK, Setups.ALPHA))
                : Models.mlp(width);
        model.setBlock(block);
        Models.initialize(block, model.getNDManager(), width);
        if (mode == Mode.LORA) {
            PeftCalls.injectLora(block, Setups.RANK, Setups.ALPHA, Models.MLP_LINEARS);
        }
        if (mode == Mode.HAND) {
            for (Pair<String, Parameter> p : block.getParameters()) {
                p.getValue().freeze(!p.getKey().contains("lora_"));
            }
        }
        adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-4f)).build();
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(adam);
        trainer = model.newTrainer(config);
        trainer.initialize(new Shape(Models.BATCH, width));
        data = model.getNDManager().newSubManager();
        x = Models.input(data, width);
        y = Models.input(data, width);
    }

    /** One step: forward, L2 loss, backward, Adam update. Every temporary array is freed. */
    public void step() {
        step(null, System::nanoTime);
    }

    /** Phases of {@link #step(long[])}, in order. */
    public static final List<String> PHASES = List.of("forward", "loss", "backward", "collector close",
            "Trainer.step (optimizer)", "free the pass's arrays");

    /**
     * One step as {@link #step()}, adding each phase's nanoseconds ({@link #PHASES}) on {@code clock} to
     * {@code phaseNanos} when it is not null ({@link TrainProfile}).
     */
    public void step(long[] phaseNanos, LongSupplier clock) {
        long t0 = clock.getAsLong();
        long t5;
        long t6;
        NDManager pass = data.newSubManager();
        try {
            x.tempAttach(pass);
            y.tempAttach(pass);
            long t1;
            long t2;
            long t3;
            long t4;
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDList prediction = trainer.forward(new NDList(x));
                t1 = clock.getAsLong();
                NDArray loss = trainer.getLoss().evaluate(new NDList(y), prediction);
                t2 = clock.getAsLong();
                collector.backward(loss);
                t3 = clock.getAsLong();
            }
            t4 = clock.getAsLong();
            trainer.step();
            t5 = clock.getAsLong();
            if (phaseNanos != null) {
                phaseNanos[0] += t1 - t0;
                phaseNanos[1] += t2 - t1;
                phaseNanos[2] += t3 - t2;
                phaseNanos[3] += t4 - t3;
                phaseNanos[4] += t5 - t4;
            }
        } finally {
            pass.close();
        }
        t6 = clock.getAsLong();
        if (phaseNanos != null) {
            phaseNanos[5] += t6 - t5;
        }
    }

    /** The trainer (for profiling). */
    public Trainer trainer() {
        return trainer;
    }

    /** The model's block. */
    public Block block() {
        return block;
    }

    /** Parameters (scalars) that require gradients, counted over {@code getParameters()}. */
    public long trainableParameters() {
        long n = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                n += p.getValue().getArray().size();
            }
        }
        return n;
    }

    /** All parameters (scalars), adapters included. */
    public long allParameters() {
        long n = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            n += p.getValue().getArray().size();
        }
        return n;
    }

    /** Bytes of the arrays Adam holds (first and second moments), read from its private maps after a step. */
    public long adamStateBytes() {
        return stateBytes("means") + stateBytes("variances");
    }

    /** Number of parameters Adam keeps moments for. */
    public int adamStateEntries() {
        return stateMap("means").size();
    }

    private long stateBytes(String field) {
        long bytes = 0;
        for (Map<?, ?> perDevice : stateMap(field).values()) {
            for (Object array : perDevice.values()) {
                NDArray a = (NDArray) array;
                bytes += a.size() * a.getDataType().getNumOfBytes();
            }
        }
        return bytes;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Map<?, ?>> stateMap(String field) {
        try {
            Field f = Adam.class.getDeclaredField(field);
            f.setAccessible(true);
            return (Map<String, Map<?, ?>>) f.get(adam);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read Adam." + field + " (DJL changed?)", e);
        }
    }

    @Override
    public void close() {
        trainer.close();
        model.close();
    }
}

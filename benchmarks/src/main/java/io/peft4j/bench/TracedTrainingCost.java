package io.peft4j.bench;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import io.peft4j.Peft;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.traced.TracedModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cost of training LoRA on a traced model (identity W = W0 + s·B·A) against the same LoRA on the model built from
 * DJL blocks, paired: golden adapter {@code b1} on the golden MLP (16 -> 32 -> 32 -> 4), its DJL twin and its
 * TorchScript trace, Adam, L2 loss, one fixed batch. Each round times {@code steps} training steps (after 5 untimed)
 * of both sides with fresh Trainers, the order alternating from round to round; the ratio of each round is
 * traced / block, and the result is the median ratio with the lowest and highest. Each side is timed by the CPU time
 * of the training thread (PyTorch pinned to one intra-op and one inter-op thread, so the ops run on it), which other
 * processes on a shared machine do not inflate, and by wall time. The Java API is used (no agent); run it in a JVM
 * with peft4j-core on the class path:
 *
 * <pre>
 * java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
 *     -cp "benchmarks/target/benchmarks.jar:benchmarks/target/peft4j-core-lib/*" io.peft4j.bench.TracedTrainingCost \
 *     core/src/test/resources/golden/b1_lora_mlp [rounds=11] [steps=200] [batch=64]
 * </pre>
 */
public final class TracedTrainingCost {

    private TracedTrainingCost() {}

    /** The golden MLP with PyTorch's module names. */
    static final class GoldenMlp extends AbstractBlock {
        GoldenMlp() {
            addChildBlock("fc1", Linear.builder().setUnits(32).build());
            addChildBlock("relu1", Activation.reluBlock());
            addChildBlock("fc2", Linear.builder().setUnits(32).build());
            addChildBlock("relu2", Activation.reluBlock());
            addChildBlock("head", Linear.builder().setUnits(4).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            NDList x = inputs;
            for (Block child : getChildren().values()) {
                x = child.forward(store, x, training, params);
            }
            return x;
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, ai.djl.ndarray.types.DataType dataType,
                Shape... inputShapes) {
            Shape[] shapes = inputShapes;
            for (Block child : getChildren().values()) {
                child.initialize(manager, dataType, shapes);
                shapes = child.getOutputShapes(shapes);
            }
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), 4)};
        }
    }

    public static void main(String[] args) throws Exception {
        Path b1 = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 11;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        List<double[]> block = new ArrayList<>();
        List<double[]> traced = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            double[] b;
            double[] t;
            if (r % 2 == 0) {
                b = run(b1, false, steps, batch);
                t = run(b1, true, steps, batch);
            } else {
                t = run(b1, true, steps, batch);
                b = run(b1, false, steps, batch);
            }
            block.add(b);
            traced.add(t);
            System.out.printf(Locale.ROOT, "round %d: CPU us/step block %.1f traced %.1f (ratio %.3f); wall us/step"
                    + " block %.1f traced %.1f (ratio %.3f)%n", r + 1, b[0], t[0], t[0] / b[0], b[1], t[1],
                    t[1] / b[1]);
        }
        for (int k = 0; k < 2; k++) {
            List<Double> ratios = new ArrayList<>();
            List<Double> bs = new ArrayList<>();
            List<Double> ts = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                bs.add(block.get(r)[k]);
                ts.add(traced.get(r)[k]);
                ratios.add(traced.get(r)[k] / block.get(r)[k]);
            }
            List<Double> sorted = new ArrayList<>(ratios);
            Collections.sort(sorted);
            System.out.printf(Locale.ROOT, "%s: block %.1f us/step, traced %.1f us/step; ratio traced/block %.3f "
                    + "(lowest %.3f, highest %.3f; %d rounds x %d steps, batch %d)%n", k == 0 ? "CPU" : "wall",
                    median(bs), median(ts), median(ratios), sorted.get(0), sorted.get(sorted.size() - 1), rounds,
                    steps, batch);
        }
    }

    private static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    /** Microseconds per training step: thread CPU time, wall time. */
    private static double[] run(Path b1, boolean traced, int steps, int batch) throws Exception {
        try (Model model = traced ? loadTrace(b1) : Model.newInstance("twin")) {
            if (traced) {
                TracedModel t = Peft.traced(model.getBlock());
                t.load(b1, "default");
                t.setActiveAdapters(List.of("default"));
            } else {
                GoldenMlp mlp = new GoldenMlp();
                model.setBlock(mlp);
                mlp.initialize(model.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(batch, 16));
                loadBase(mlp, b1.resolve("base_model.safetensors"));
                Peft.loadAdapter(mlp, b1);
            }
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build());
            try (Trainer trainer = model.newTrainer(config);
                    NDManager data = model.getNDManager().newSubManager()) {
                trainer.initialize(new Shape(batch, 16));
                NDArray x = data.randomNormal(new Shape(batch, 16));
                NDArray y = data.randomNormal(new Shape(batch, 4));
                for (int i = 0; i < 5; i++) {
                    step(trainer, data, x, y);
                }
                java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
                long cpu = threads.getCurrentThreadCpuTime();
                long start = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    step(trainer, data, x, y);
                }
                return new double[] {(threads.getCurrentThreadCpuTime() - cpu) / 1e3 / steps,
                    (System.nanoTime() - start) / 1e3 / steps};
            }
        }
    }

    private static void step(Trainer trainer, NDManager data, NDArray x, NDArray y) {
        try (NDManager pass = data.newSubManager()) {
            x.tempAttach(pass);
            y.tempAttach(pass);
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                collector.backward(trainer.getLoss().evaluate(new NDList(y), new NDList(pred)));
            }
            trainer.step();
        }
    }

    private static Model loadTrace(Path b1) throws Exception {
        Model model = Model.newInstance("trace", "PyTorch");
        model.load(b1, "base_model.torchscript", Map.of("trainParam", "true"));
        return model;
    }

    private static void loadBase(GoldenMlp mlp, Path file) throws Exception {
        SafetensorsFile weights = SafetensorsFile.read(file);
        for (ai.djl.util.Pair<String, Block> child : mlp.getChildren()) {
            String name = child.getKey().substring(2);
            for (var p : child.getValue().getDirectParameters()) {
                NDArray value = TensorArrays.toNDArray(weights.get(name + "." + p.getKey()),
                        p.getValue().getArray().getManager());
                p.getValue().getArray().set(value.toByteBuffer());
                value.close();
            }
        }
    }
}

package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;

import java.util.Arrays;
import java.util.List;

/**
 * What {@link NonFiniteGuard}'s check after each step costs, against the training step itself (which includes one
 * check): alternating rounds of {@code steps} training steps and of {@code steps} bare checks, the ratio per pair of
 * rounds, median reported. Not a test; run with
 * {@code java -cp ... io.peft4j.instrument.NonFiniteGuardCost [width] [rounds] [steps]}.
 */
public final class NonFiniteGuardCost {

    private NonFiniteGuardCost() {}

    public static void main(String[] args) {
        int width = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        try (Model model = Model.newInstance("guard-cost")) {
            Mlp mlp = new Mlp(width, width, width, 16);
            model.setBlock(mlp);
            mlp.initialize(model.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(32, width));
            Peft.injectAdapter(LoraConfig.builder().r(8).loraAlpha(16).targetModules(List.of("fc1", "fc2")).build(),
                    mlp);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(
                    Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-4f)).build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(32, width));
                NDArray x = trainer.getManager().randomNormal(new Shape(32, width));
                NDArray y = trainer.getManager().randomNormal(new Shape(32, 16));
                double[] ratios = new double[rounds];
                double[] stepMs = new double[rounds];
                double[] guardMs = new double[rounds];
                for (int round = -2; round < rounds; round++) { // two warm-up rounds
                    long t0 = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            gc.backward(trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x))));
                        }
                        trainer.step();
                    }
                    long t1 = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        NonFiniteGuard.afterStep(mlp);
                    }
                    long t2 = System.nanoTime();
                    if (round >= 0) {
                        stepMs[round] = (t1 - t0) / 1e6 / steps;
                        guardMs[round] = (t2 - t1) / 1e6 / steps;
                        ratios[round] = guardMs[round] / (stepMs[round] - guardMs[round]);
                    }
                }
                Arrays.sort(ratios);
                Arrays.sort(stepMs);
                Arrays.sort(guardMs);
                System.out.printf("width %d, LoRA r=8 on fc1+fc2 (4 trainable tensors), batch 32, Adam: step %.3f ms"
                        + " (median, check included), check %.3f ms (median); check / step without it: median %.2f%%"
                        + " (min %.2f%%, max %.2f%%) over %d paired rounds of %d%n", width, stepMs[rounds / 2],
                        guardMs[rounds / 2], 100 * ratios[rounds / 2], 100 * ratios[0], 100 * ratios[rounds - 1],
                        rounds, steps);
            }
        }
    }
}

package io.peft4j.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.io.PrintStream;
import java.util.List;

/**
 * Plain DJL training, shared by pre-training and fine-tuning: softmax cross-entropy, Adam, an ordinary
 * {@link Trainer} driven by {@link EasyTrain#fit}. Nothing here knows about adapters; whatever parameters require a
 * gradient when the Trainer exists are the ones trained.
 */
final class TrainingRun {

    private TrainingRun() {}

    /**
     * The result of one training run.
     *
     * @param losses mean training loss per epoch
     * @param parameters trainable and total parameters, counted once the Trainer was initialised
     * @param seconds wall time of the training epochs and closing the Trainer
     */
    record Outcome(List<Double> losses, ParameterCount parameters, double seconds) {}

    /** Work to do once the Trainer is ready, before the first epoch (such as measuring the starting point). */
    @FunctionalInterface
    interface BeforeFirstEpoch {

        /**
         * Runs the step.
         *
         * @throws Exception if it fails; training does not start
         */
        void run() throws Exception;
    }

    /**
     * Trains {@code model} on {@code train}.
     *
     * @param model the model, initialised or not
     * @param train the training samples
     * @param epochs passes over the data
     * @param learningRate Adam's fixed learning rate
     * @param batchSize samples per batch
     * @param out where progress lines go
     * @param beforeFirstEpoch runs once the Trainer is created and initialised
     * @return losses, parameter counts and wall time
     * @throws Exception if training or {@code beforeFirstEpoch} fails
     */
    static Outcome fit(Model model, DigitSamples train, int epochs, float learningRate, int batchSize,
            PrintStream out, BeforeFirstEpoch beforeFirstEpoch) throws Exception {
        EpochProgress progress = new EpochProgress(epochs, out);
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(learningRate)).build())
                .addTrainingListeners(progress);
        try (NDManager data = NDManager.newBaseManager()) {
            ArrayDataset dataset = train.toDataset(data, batchSize);
            long start;
            ParameterCount parameters;
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(batchSize, DigitSamples.PIXELS));
                beforeFirstEpoch.run();
                parameters = ParameterCount.of(model);
                // the counts only: under the agent, its log line gives the share (PEFT's trainable%), once
                out.println("trainable parameters: " + parameters.counts());
                start = System.nanoTime();
                EasyTrain.fit(trainer, epochs, dataset, null);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Outcome(progress.losses(), parameters, seconds);
        }
    }
}

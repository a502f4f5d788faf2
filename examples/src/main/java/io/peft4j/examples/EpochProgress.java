package io.peft4j.examples;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A training listener that records the mean training loss of each epoch and prints one progress-bar line per epoch,
 * such as {@code epoch  7/20 [#######.............]  35% loss 0.4312 (0.4 s)}.
 */
final class EpochProgress extends TrainingListenerAdapter {

    private static final int BAR_WIDTH = 30;

    private final int epochs;
    private final PrintStream out;
    private final List<Double> losses = new ArrayList<>();
    private double sum;
    private long count;
    private long epochStart = System.nanoTime();

    /**
     * @param epochs the number of epochs the training will run, for the bar's scale
     * @param out where the lines go
     */
    EpochProgress(int epochs, PrintStream out) {
        this.epochs = epochs;
        this.out = out;
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        for (Map.Entry<Device, NDList> entry : batchData.getPredictions().entrySet()) {
            NDList labels = batchData.getLabels().get(entry.getKey());
            float loss = trainer.getLoss().evaluate(labels, entry.getValue()).getFloat();
            long size = labels.head().getShape().get(0);
            sum += (double) loss * size;
            count += size;
        }
    }

    @Override
    public void onEpoch(Trainer trainer) {
        double mean = count == 0 ? Double.NaN : sum / count;
        losses.add(mean);
        sum = 0;
        count = 0;
        long now = System.nanoTime();
        int done = losses.size();
        int filled = (int) Math.round((double) BAR_WIDTH * done / epochs);
        String bar = "#".repeat(Math.min(filled, BAR_WIDTH)) + ".".repeat(Math.max(0, BAR_WIDTH - filled));
        int width = String.valueOf(epochs).length();
        out.printf(Locale.ROOT, "  epoch %" + width + "d/%d [%s] %3d%%  loss %.4f  (%.2f s)%n", done, epochs, bar,
                100 * done / epochs, mean, (now - epochStart) / 1e9);
        out.flush();
        epochStart = now;
    }

    /** The mean training loss of every finished epoch, first epoch first. */
    List<Double> losses() {
        return List.copyOf(losses);
    }
}

package io.peft4j.testmodels;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Records the mean training loss of every epoch. As a training listener it follows {@code EasyTrain.fit}; a manual
 * loop calls {@link #addBatch(float, long)} and {@link #endEpoch()} itself.
 */
public final class LossRecorder extends TrainingListenerAdapter {

    private final List<Float> epochLosses = new ArrayList<>();
    private double sum;
    private long count;

    /**
     * Adds one batch's mean loss.
     *
     * @param loss the batch's mean loss
     * @param batchSize the number of samples in the batch
     */
    public void addBatch(float loss, long batchSize) {
        sum += (double) loss * batchSize;
        count += batchSize;
    }

    /**
     * Closes the current epoch and records its mean loss.
     *
     * @return the epoch's mean loss
     */
    public float endEpoch() {
        float mean = count == 0 ? Float.NaN : (float) (sum / count);
        epochLosses.add(mean);
        sum = 0;
        count = 0;
        return mean;
    }

    /**
     * Returns the recorded per-epoch losses.
     *
     * @return a copy of the list, oldest first
     */
    public List<Float> getEpochLosses() {
        return new ArrayList<>(epochLosses);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        for (Map.Entry<Device, NDList> e : batchData.getPredictions().entrySet()) {
            NDList labels = batchData.getLabels().get(e.getKey());
            float loss = trainer.getLoss().evaluate(labels, e.getValue()).getFloat();
            addBatch(loss, labels.head().getShape().get(0));
        }
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        endEpoch();
    }
}

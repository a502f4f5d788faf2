package io.peft4j.examples;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import java.util.Locale;

/**
 * The share of samples a model classifies correctly.
 *
 * @param correct the number of correct predictions
 * @param total the number of samples
 */
public record Accuracy(int correct, int total) {

    /**
     * Runs the model on every sample through an ordinary DJL {@link Predictor} and counts the hits.
     *
     * @param model the model
     * @param samples the labelled samples
     * @return the accuracy
     * @throws TranslateException if prediction fails
     */
    public static Accuracy measure(Model model, DigitSamples samples) throws TranslateException {
        try (NDManager manager = NDManager.newBaseManager();
                Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
            NDArray logits = predictor.predict(new NDList(samples.features(manager))).singletonOrThrow();
            long[] predicted = logits.argMax(1).toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray();
            int hits = 0;
            for (int i = 0; i < predicted.length; i++) {
                if (predicted[i] == samples.labels()[i]) {
                    hits++;
                }
            }
            logits.close();
            return new Accuracy(hits, samples.size());
        }
    }

    /** The accuracy as a fraction 0..1. */
    public double fraction() {
        return total == 0 ? 0 : (double) correct / total;
    }

    /** For example {@code 87.33% (393/450)}. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%.2f%% (%d/%d)", 100 * fraction(), correct, total);
    }
}

package io.peft4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.ArrayDataset;

/**
 * A set of 8x8 digit images, pixels already scaled to 0..1, with their labels 0..9.
 *
 * @param pixels one row of {@value #PIXELS} pixels (row-major 8x8) per sample
 * @param labels the digit shown by each sample
 */
public record DigitSamples(float[][] pixels, int[] labels) {

    /** Pixels per image (8x8). */
    public static final int PIXELS = 64;

    /** Number of classes. */
    public static final int CLASSES = 10;

    /** Checks that pixels and labels agree in length. */
    public DigitSamples {
        if (pixels.length != labels.length) {
            throw new IllegalArgumentException(pixels.length + " images but " + labels.length + " labels");
        }
    }

    /** The number of samples. */
    public int size() {
        return labels.length;
    }

    /** The same samples with every image transformed by {@code shift}. */
    public DigitSamples shifted(DomainShift shift) {
        float[][] moved = new float[pixels.length][];
        for (int i = 0; i < pixels.length; i++) {
            moved[i] = shift.apply(pixels[i]);
        }
        return new DigitSamples(moved, labels.clone());
    }

    /** The images as a float32 array of shape (size, 64), owned by {@code manager}. */
    public NDArray features(NDManager manager) {
        float[] flat = new float[size() * PIXELS];
        for (int i = 0; i < pixels.length; i++) {
            System.arraycopy(pixels[i], 0, flat, i * PIXELS, PIXELS);
        }
        return manager.create(flat, new ai.djl.ndarray.types.Shape(size(), PIXELS));
    }

    /** The labels as a float32 array of shape (size), owned by {@code manager}. */
    public NDArray labelArray(NDManager manager) {
        float[] flat = new float[labels.length];
        for (int i = 0; i < labels.length; i++) {
            flat[i] = labels[i];
        }
        return manager.create(flat);
    }

    /** A shuffled, batched DJL dataset of these samples, for a Trainer. */
    public ArrayDataset toDataset(NDManager manager, int batchSize) {
        return new ArrayDataset.Builder()
                .setData(features(manager))
                .optLabels(labelArray(manager))
                .setSampling(batchSize, true)
                .build();
    }
}

package io.peft4j.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0), bundled as
 * {@code /digits/digits.csv.gz}: 1797 images of 8x8 pixels counting 0..16, then the label. See
 * {@code digits/SOURCE.md} for the attribution.
 */
public final class DigitsData {

    /** The bundled resource. */
    public static final String RESOURCE = "/digits/digits.csv.gz";

    /** Samples in the test part of the fixed split; the other 1347 are for training. */
    public static final int TEST_SIZE = 450;

    /** Seed of the fixed train/test shuffle. */
    public static final long SPLIT_SEED = 20240607L;

    private static final float MAX_PIXEL = 16f;

    private DigitsData() {}

    /**
     * Reads all 1797 samples, pixels divided by 16.
     *
     * @return the samples in file order
     */
    public static DigitSamples load() {
        List<float[]> pixels = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        try (InputStream raw = DigitsData.class.getResourceAsStream(RESOURCE)) {
            if (raw == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
            }
            BufferedReader reader = new BufferedReader(
                    new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII));
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                String[] cells = line.split(",");
                if (cells.length != DigitSamples.PIXELS + 1) {
                    throw new IllegalStateException("expected 65 columns, got " + cells.length + ": " + line);
                }
                float[] image = new float[DigitSamples.PIXELS];
                for (int i = 0; i < image.length; i++) {
                    image[i] = Float.parseFloat(cells[i].trim()) / MAX_PIXEL;
                }
                pixels.add(image);
                labels.add(Integer.parseInt(cells[DigitSamples.PIXELS].trim()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        return new DigitSamples(pixels.toArray(new float[0][]), labels.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The fixed split: a seeded shuffle, then the last {@link #TEST_SIZE} samples are the test set.
     *
     * @return the training (1347) and test (450) samples
     */
    public static TrainTestSplit split() {
        DigitSamples all = load();
        Integer[] order = new Integer[all.size()];
        Arrays.setAll(order, i -> i);
        java.util.Collections.shuffle(Arrays.asList(order), new Random(SPLIT_SEED));
        int trainSize = all.size() - TEST_SIZE;
        return new TrainTestSplit(subset(all, order, 0, trainSize), subset(all, order, trainSize, all.size()));
    }

    private static DigitSamples subset(DigitSamples all, Integer[] order, int from, int to) {
        float[][] pixels = new float[to - from][];
        int[] labels = new int[to - from];
        for (int i = from; i < to; i++) {
            pixels[i - from] = all.pixels()[order[i]];
            labels[i - from] = all.labels()[order[i]];
        }
        return new DigitSamples(pixels, labels);
    }
}

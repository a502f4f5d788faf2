package io.peft4j.testmodels;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.ArrayDataset;
import java.util.Random;

/**
 * A reproducible regression data set for the MLP: {@code x ~ N(0,1)}, {@code y = tanh(x A) B + 0.01 noise}, drawn
 * with {@link java.util.Random} from a fixed seed so it is identical on every engine and JVM.
 */
public final class SyntheticRegression {

    private SyntheticRegression() {}

    /**
     * Builds the data set (not shuffled, so batches are identical from run to run).
     *
     * @param manager the manager for the arrays
     * @param samples the number of samples
     * @param inFeatures the input width
     * @param outFeatures the target width
     * @param batchSize the batch size
     * @param seed the random seed
     * @return the data set
     */
    public static ArrayDataset build(
            NDManager manager, int samples, int inFeatures, int outFeatures, int batchSize, long seed) {
        Random random = new Random(seed);
        int hidden = 8;
        float[] a = gaussian(random, inFeatures * hidden, 1f / (float) Math.sqrt(inFeatures));
        float[] b = gaussian(random, hidden * outFeatures, 1f);
        float[] x = gaussian(random, samples * inFeatures, 1f);
        float[] y = new float[samples * outFeatures];
        for (int s = 0; s < samples; s++) {
            float[] h = new float[hidden];
            for (int j = 0; j < hidden; j++) {
                float acc = 0;
                for (int i = 0; i < inFeatures; i++) {
                    acc += x[s * inFeatures + i] * a[i * hidden + j];
                }
                h[j] = (float) Math.tanh(acc);
            }
            for (int k = 0; k < outFeatures; k++) {
                float acc = 0;
                for (int j = 0; j < hidden; j++) {
                    acc += h[j] * b[j * outFeatures + k];
                }
                y[s * outFeatures + k] = acc + 0.01f * (float) random.nextGaussian();
            }
        }
        NDArray data = manager.create(x).reshape(samples, inFeatures);
        NDArray labels = manager.create(y).reshape(samples, outFeatures);
        return new ArrayDataset.Builder().setData(data).optLabels(labels).setSampling(batchSize, false).build();
    }

    private static float[] gaussian(Random random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = scale * (float) random.nextGaussian();
        }
        return v;
    }
}

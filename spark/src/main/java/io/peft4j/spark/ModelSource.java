package io.peft4j.spark;

import ai.djl.Model;

import java.io.Serializable;

/**
 * How an executor loads the DJL model that scores rows. Spark serialises the source with the task, and every
 * executor JVM calls {@link #load()} once and keeps the model for all later tasks of any job ({@link ExecutorModels}).
 *
 * <p>Sources are compared with {@code equals}: one model per executor JVM for each distinct source. Make them records
 * (or give them value equality), holding only what is needed to load the model: a path every executor can read
 * (a shared file system, or one every node has, for example in the executor image) and
 * the architecture's settings.
 *
 * <pre>{@code
 * record DigitsSource(String dir) implements ModelSource {
 *     public Model load() throws Exception {
 *         Model model = Model.newInstance("digits-mlp");
 *         model.setBlock(new Mlp(64, 10, new int[] {256, 256}));
 *         model.load(Path.of(dir), "digits-mlp");
 *         return model;
 *     }
 * }
 * }</pre>
 */
@FunctionalInterface
public interface ModelSource extends Serializable {

    /**
     * Loads the model, its parameters initialised, on the executor.
     *
     * @return the model; the executor owns it until the JVM exits
     * @throws Exception when it cannot be loaded: the task fails with it and Spark retries it
     */
    Model load() throws Exception;
}

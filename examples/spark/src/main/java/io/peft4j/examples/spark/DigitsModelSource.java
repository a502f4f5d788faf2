package io.peft4j.examples.spark;

import ai.djl.Model;
import io.peft4j.examples.DigitsModel;
import io.peft4j.spark.ModelSource;

import java.nio.file.Path;

/**
 * The demo's digits classifier as Spark executors load it: the parameters {@code pretrain} wrote to {@code dir}.
 *
 * @param dir a directory every executor can read (local mode: the driver's)
 */
public record DigitsModelSource(String dir) implements ModelSource {

    @Override
    public Model load() throws Exception {
        return DigitsModel.load(DigitsModel.locate(Path.of(dir)));
    }
}

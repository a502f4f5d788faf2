package io.peft4j.examples;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.basicmodelzoo.basic.Mlp;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The classifier: DJL's stock {@link Mlp} (64 inputs, hidden layers {@link #HIDDEN}, 10 outputs). As a
 * {@code SequentialBlock} its children are, in PyTorch naming, {@code 0} batch-flatten, {@code 1} Linear,
 * {@code 2} ReLU, {@code 3} Linear, {@code 4} ReLU, {@code 5} Linear: those are the names an adapter config targets.
 */
public final class DigitsModel {

    /** The model's name, also the prefix of its saved parameter file. */
    public static final String NAME = "digits-mlp";

    /** Sizes of the hidden layers. */
    public static final int[] HIDDEN = {256, 256};

    private DigitsModel() {}

    /** A fresh, uninitialised model. */
    public static Model create() {
        Model model = Model.newInstance(NAME);
        model.setBlock(new Mlp(DigitSamples.PIXELS, DigitSamples.CLASSES, HIDDEN));
        return model;
    }

    /**
     * Finds the directory with the saved parameters: {@code dir} itself, or {@code dir/base} as {@code pretrain --out
     * dir} writes it.
     *
     * @param dir the directory given on the command line
     * @return the directory to load from
     */
    public static Path locate(Path dir) {
        Path nested = dir.resolve("base");
        if (!hasParameters(dir) && hasParameters(nested)) {
            return nested;
        }
        return dir;
    }

    private static boolean hasParameters(Path dir) {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            return files.anyMatch(f -> {
                String name = f.getFileName().toString();
                return name.startsWith(NAME + "-") && name.endsWith(".params");
            });
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Loads the model {@code model.save(dir, NAME)} wrote.
     *
     * @param dir the directory holding {@code digits-mlp-0000.params}
     * @return the model with its trained parameters
     * @throws IOException if the file cannot be read
     * @throws MalformedModelException if it does not fit the architecture
     */
    public static Model load(Path dir) throws IOException, MalformedModelException {
        Model model = create();
        try {
            model.load(dir, NAME);
        } catch (IOException | MalformedModelException | RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }
}

package io.peft4j.testmodels;

import ai.djl.nn.Block;
import java.util.List;

/** Builds the DJL twin of a golden case's model by its PyTorch class name ({@code case.json} "model"). */
public final class GoldenModels {

    /** The model names {@link #build(String)} knows, as written in {@code case.json}. */
    public static final List<String> NAMES = List.of("DummyModel", "MLP", "ConvNet");

    private GoldenModels() {}

    /**
     * Builds a fresh, uninitialized twin.
     *
     * @param modelName "DummyModel", "MLP" or "ConvNet"
     * @return the twin block (a {@link TwinBlock})
     * @throws IllegalArgumentException for any other name
     */
    public static Block build(String modelName) {
        switch (modelName) {
            case "DummyModel":
                return new DummyModel();
            case "MLP":
                return new Mlp();
            case "ConvNet":
                return new ConvNet();
            default:
                throw new IllegalArgumentException(
                        "Unknown golden model '" + modelName + "', expected one of " + NAMES);
        }
    }
}

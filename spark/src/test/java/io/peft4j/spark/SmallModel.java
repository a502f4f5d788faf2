package io.peft4j.spark;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.ParameterStore;
import ai.djl.ndarray.NDList;
import io.peft4j.Peft;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.tuner.AdapterSelection;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * The test model: {@code 0} Linear(16 -> 32), {@code 1} ReLU, {@code 2} Linear(32 -> 4), saved as
 * {@code small-*.params} in {@code dir}; two LoRA adapters with random (non-zero) weights on both Linears, saved
 * as PEFT directories.
 */
record SmallModel(String dir) implements ModelSource {

    static final String NAME = "small";
    static final int FEATURES = 16;
    static final List<String> ADAPTERS = List.of("rotated", "mirrored");

    @Override
    public Model load() throws Exception {
        Model model = Model.newInstance(NAME);
        model.setBlock(block());
        model.load(Path.of(dir), NAME);
        return model;
    }

    private static SequentialBlock block() {
        return new SequentialBlock().add(Linear.builder().setUnits(32).build()).add(Activation.reluBlock())
                .add(Linear.builder().setUnits(4).build());
    }

    /** Writes the base model to {@code dir/base} and each adapter to {@code dir/NAME}; returns the base's source. */
    static SmallModel write(Path dir) throws Exception {
        try (Model model = Model.newInstance(NAME)) {
            SequentialBlock block = block();
            block.setInitializer(new NormalInitializer(0.5f), ai.djl.nn.Parameter.Type.WEIGHT);
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, FEATURES));
            model.save(dir.resolve("base"), NAME);
            for (String name : ADAPTERS) {
                LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("0", "2"))
                        .initLoraWeights(InitLoraWeights.FALSE).build();
                Peft.injectAdapter(config, block, name);
                Peft.saveAdapter(block, dir.resolve(name), name);
            }
        }
        return new SmallModel(dir.resolve("base").toString());
    }

    /** Random features, reproducible from {@code seed}. */
    static float[] features(Random random) {
        float[] x = new float[FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    /** The reference: one row alone through {@code model} with {@code adapter} (a base name for the base model). */
    static float[] scoreAlone(Model model, float[] features, String adapter) {
        try (NDManager manager = model.getNDManager().newSubManager();
                AdapterSelection s = AdapterColumn.isBase(adapter) ? Peft.useAdapters() : Peft.useAdapters(adapter)) {
            NDList out = model.getBlock().forward(new ParameterStore(manager, false),
                    new NDList(manager.create(features, new Shape(1, FEATURES))), false);
            return out.head().toFloatArray();
        }
    }

    /** Fails unless {@code actual} is within {@code 1e-5} of {@code expected}, relative to the row's largest value. */
    static void assertRowClose(float[] expected, float[] actual, String what) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": " + actual.length + " scores, expected " + expected.length);
        }
        double scale = 1;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int k = 0; k < expected.length; k++) {
            if (Math.abs(expected[k] - actual[k]) > 1e-5 * scale) {
                throw new AssertionError(what + ": score " + k + " is " + actual[k] + ", expected " + expected[k]
                        + " (tolerance " + 1e-5 * scale + ")");
            }
        }
    }
}

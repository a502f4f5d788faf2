package io.peft4j.tuner;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.LoraBias;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training with DJL's ordinary Trainer after injecting through the API: only what PEFT trains changes. */
class TrainingTest extends DjlTestCase {


    @Test
    void onlyAdaptersTrainAndTheModelFileStaysPlain(@TempDir Path tmp) throws Exception {
        Result r = train(LoraBias.NONE, tmp);
        r.before.forEach((name, values) -> {
            if (!name.contains("lora_")) {
                assertArrayEquals(values, r.after.get(name), 0f, name + " must be bit-identical");
            }
        });
        assertTrue(changed(r, "lora_B"), "lora_B moved");
        assertTrue(changed(r, "lora_A"), "lora_A moved");
        assertTrue(r.lastLoss < r.firstLoss * 0.9, "loss fell: " + r.firstLoss + " -> " + r.lastLoss);

        try (Model plain = Model.newInstance("plain")) {
            Mlp fresh = new Mlp();
            plain.setBlock(fresh);
            plain.load(tmp, "mlp");
            for (Pair<String, Parameter> p : fresh.getParameters()) {
                assertFalse(p.getKey().contains("lora_"), "a fresh block has no adapter parameters");
                assertArrayEquals(r.before.get(p.getKey()), p.getValue().getArray().toFloatArray(), 0f,
                        "saved " + p.getKey() + " is the untouched base value");
            }
        }
    }

    @Test
    void biasAllTrainsBiasesToo(@TempDir Path tmp) throws Exception {
        Result r = train(LoraBias.ALL, tmp);
        for (String name : r.before.keySet()) {
            boolean same = java.util.Arrays.equals(r.before.get(name), r.after.get(name));
            if (name.endsWith("_bias")) {
                assertFalse(same, name + " is trainable with bias=all");
            } else if (!name.contains("lora_")) {
                assertTrue(same, name + " stays frozen");
            }
        }
    }

    private static boolean changed(Result r, String kind) {
        for (String name : r.before.keySet()) {
            if (name.contains(kind) && !java.util.Arrays.equals(r.before.get(name), r.after.get(name))) {
                return true;
            }
        }
        return false;
    }

    private record Result(Map<String, float[]> before, Map<String, float[]> after, float firstLoss,
            float lastLoss) {}

    private Result train(LoraBias bias, Path saveDir) throws Exception {
        try (Model model = Model.newInstance("mlp")) {
            Mlp mlp = new Mlp();
            model.setBlock(mlp);
            TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                    model.getNDManager());
            LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1", "fc2"))
                    .bias(bias).build();
            Peft.injectAdapter(config, mlp);
            Map<String, float[]> before = snapshot(mlp);
            DefaultTrainingConfig tc = new DefaultTrainingConfig(new GcSafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
            float first = Float.NaN;
            float last = Float.NaN;
            try (Trainer trainer = model.newTrainer(tc)) {
                trainer.initialize(new Shape(8, 16));
                NDManager data = trainer.getManager();
                ai.djl.engine.Engine.getInstance().setRandomSeed(7);
                NDArray x = data.randomNormal(new Shape(32, 16));
                NDArray y = x.get(":, 0:4").mul(2f).sub(1f);
                for (int step = 0; step < 30; step++) {
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        NDList pred = trainer.forward(new NDList(x));
                        NDArray loss = trainer.getLoss().evaluate(new NDList(y), pred);
                        gc.backward(loss);
                        float value = loss.getFloat();
                        first = step == 0 ? value : first;
                        last = value;
                    }
                    trainer.step();
                }
            }
            Map<String, float[]> after = snapshot(mlp);
            model.save(saveDir, "mlp");
            return new Result(before, after, first, last);
        }
    }

    private static Map<String, float[]> snapshot(Block block) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }
}

package io.peft4j.adalora;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdaLoRA's rank allocation during ordinary DJL training (no call from the training loop): ranks shrink to
 * {@code target_r} on average, the loss falls, the final {@code rank_pattern} is saved with the tensors cut to the
 * kept ranks, and the saved adapter reproduces the trained model.
 */
class AdaLoraTrainingTest extends DjlTestCase {


    @Test
    void ranksShrinkToTargetWhileLossFalls(@TempDir Path tmp) throws Exception {
        Path base = GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors");
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().initR(6).targetR(2).tinit(5).tfinal(5).totalStep(40)
                .deltaT(1).loraAlpha(8).orthRegWeight(0.5).targetModules(List.of("fc1", "fc2")).build();
        float first = Float.NaN;
        float last = Float.NaN;
        float[] trainedOutput;
        NDArray probe = manager.randomNormal(new Shape(5, 16));
        try (Model model = Model.newInstance("adalora")) {
            Mlp mlp = new Mlp();
            model.setBlock(mlp);
            TorchWeights.load(mlp, base, model.getNDManager());
            ModelAdapters adapters = Peft.injectAdapter(config, mlp);
            DefaultTrainingConfig tc = new DefaultTrainingConfig(new GcSafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.05f)).build());
            try (Trainer trainer = model.newTrainer(tc)) {
                trainer.initialize(new Shape(8, 16));
                NDManager data = trainer.getManager();
                ai.djl.engine.Engine.getInstance().setRandomSeed(11);
                NDArray x = data.randomNormal(new Shape(64, 16));
                NDArray y = x.get(":, 0:4").mul(1.5f).add(0.5f);
                NDArray zero = data.zeros(new Shape());
                float reg = AdaLoraTraining.withOrthogonalRegularisation(zero).getFloat();
                assertTrue(reg > 0, "a training AdaLoRA model adds orth_reg_weight * regulariser to the loss");
                for (int step = 0; step < 40; step++) {
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray loss = trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x)));
                        gc.backward(loss);
                        float value = loss.getFloat();
                        first = step == 0 ? value : first;
                        last = value;
                    }
                    trainer.step();
                }
            }
            assertEquals(0f, AdaLoraTraining.withOrthogonalRegularisation(manager.zeros(new Shape())).getFloat(),
                    "no regularisation once the trainer closed");
            assertTrue(last < first * 0.9, "loss fell: " + first + " -> " + last);
            AdaLoraConfig trained = (AdaLoraConfig) adapters.config("default");
            Map<String, List<Boolean>> masks = trained.rankMasks();
            assertEquals(List.of("fc1.lora_E", "fc2.lora_E"), List.copyOf(masks.keySet()));
            int kept = 0;
            for (Map.Entry<String, List<Boolean>> e : masks.entrySet()) {
                assertEquals(6, e.getValue().size());
                float[] values = ((SvdLinear) adapters.tunedModules().get(e.getKey().replace(".lora_E", ""))
                        .adapter("default")).loraE().getArray().toFloatArray();
                for (int i = 0; i < 6; i++) {
                    if (e.getValue().get(i)) {
                        kept++;
                    } else {
                        assertEquals(0f, Math.abs(values[i]), "masked singular value " + e.getKey() + "[" + i + "]");
                    }
                }
            }
            assertEquals(2.0, kept / 2.0, 0.0, "ranks shrink to target_r on average");
            trainedOutput = GoldenCase.forward(mlp, probe, manager);

            Peft.saveAdapter(mlp, tmp);
            AdaLoraConfig saved = (AdaLoraConfig) AdapterConfigs.read(tmp);
            assertEquals(masks, saved.rankMasks(), "rank_pattern saved in adapter_config.json");
            SafetensorsFile file = SafetensorsFile.read(tmp.resolve("adapter_model.safetensors"));
            for (String module : List.of("fc1", "fc2")) {
                int r = (int) masks.get(module + ".lora_E").stream().filter(Boolean::booleanValue).count();
                assertEquals(r, file.get(module + ".lora_A").shape()[0]);
                assertEquals(r, file.get(module + ".lora_E").shape()[0]);
                assertEquals(r, file.get(module + ".lora_B").shape()[1]);
            }
        }
        try (Model fresh = Model.newInstance("reloaded")) {
            Mlp mlp = new Mlp();
            fresh.setBlock(mlp);
            TorchWeights.load(mlp, base, fresh.getNDManager());
            Peft.loadAdapter(mlp, tmp);
            float[] reloaded = GoldenCase.forward(mlp, probe, manager);
            GoldenCase.assertClose(trainedOutput, reloaded, 1e-5, "reloaded AdaLoRA adapter");
            assertArrayEquals(new long[] {5, 4}, new long[] {5, reloaded.length / 5});
        }
    }
}

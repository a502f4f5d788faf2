package io.peft4j.traced;

import io.peft4j.testmodels.GcSafeL2Loss;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.testmodels.SyntheticRegression;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA trained on a traced model by the identity W = W0 + s·B·A, in process: the same adapter trained on the DJL twin
 * and on its TorchScript trace agree; only the factors change; what the identity cannot do exactly is refused.
 */
class TracedTrainingTest extends DjlTestCase {

    private static final TracedCases B1 = TracedCases.all().get(1);
    private static final int STEPS = 20;

    @TempDir
    Path tmp;

    @Test
    void theTraceAndItsBlockTwinTrainTheSameFactors() throws Exception {
        Map<String, float[]> block = trainBlockTwin();
        Map<String, float[]> traced = trainTrace(tmp.resolve("saved"));
        assertEquals(block.keySet(), traced.keySet());
        Map<String, float[]> initial = new LinkedHashMap<>();
        SafetensorsFile.read(B1.dir().resolve("adapter_model.safetensors")).tensors()
                .forEach((k, v) -> initial.put(k, v.toFloatArray()));
        for (String key : block.keySet()) {
            GoldenCase.assertClose(block.get(key), traced.get(key), 1e-5, key + " block twin vs trace");
            double moved = 0;
            for (int i = 0; i < initial.get(key).length; i++) {
                moved = Math.max(moved, Math.abs(initial.get(key)[i] - traced.get(key)[i]));
            }
            assertTrue(moved > 1e-3, key + " was trained (moved " + moved + ")");
        }
        Map<String, float[]> saved = new LinkedHashMap<>();
        SafetensorsFile.read(tmp.resolve("saved/adapter_model.safetensors")).tensors()
                .forEach((k, v) -> saved.put(k, v.toFloatArray()));
        for (String key : traced.keySet()) {
            assertArrayEquals(traced.get(key), saved.get(key), 0f, key + " saved as trained");
        }
    }

    private static DefaultTrainingConfig config() {
        return new DefaultTrainingConfig(new GcSafeL2Loss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
    }

    private void train(Model model, Trainer trainer) {
        try (NDManager data = NDManager.newBaseManager()) {
            var dataset = SyntheticRegression.build(data, STEPS * 16, 16, 4, 16, 42);
            int steps = 0;
            for (var batch : trainer.iterateDataset(dataset)) {
                try (GradientCollector collector = trainer.newGradientCollector()) {
                    NDList preds = trainer.forward(batch.getData());
                    NDArray loss = trainer.getLoss().evaluate(batch.getLabels(), preds);
                    collector.backward(loss);
                }
                trainer.step();
                batch.close();
                steps++;
            }
            assertEquals(STEPS, steps);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Map<String, float[]> trainBlockTwin() throws Exception {
        try (Model model = Model.newInstance("twin")) {
            Block block = GoldenCase.named("b1_lora_mlp").buildBaseModel(model.getNDManager());
            model.setBlock(block);
            Peft.loadAdapter(block, B1.dir());
            try (Trainer trainer = model.newTrainer(config())) {
                trainer.initialize(new Shape(16, 16));
                train(model, trainer);
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            Peft.getStateDict(block).forEach((k, v) -> out.put(k, v.toFloatArray()));
            return out;
        }
    }

    private Map<String, float[]> trainTrace(Path saveDir) throws Exception {
        try (Model model = B1.load()) {
            Map<String, float[]> base = parameters(model.getBlock());
            TracedModel traced = Peft.traced(model.getBlock());
            traced.load(B1.dir(), "default");
            traced.setActiveAdapters(List.of("default"));
            try (Trainer trainer = model.newTrainer(config())) {
                trainer.initialize(new Shape(16, 16));
                List<String> trainable = model.getBlock().getParameters().stream().filter(p -> p.getValue()
                        .requiresGradient()).map(Pair::getKey).toList();
                assertEquals(List.of("fc1.weight", "fc2.weight", "fc1.lora_A.default.weight",
                        "fc1.lora_B.default.weight", "fc2.lora_A.default.weight", "fc2.lora_B.default.weight"),
                        trainable, "parameters with gradients during training (the weights only for dL/dW)");
                train(model, trainer);
            }
            traced.save("default", saveDir);
            traced.unmerge();
            Map<String, float[]> restored = parameters(model.getBlock());
            base.forEach((name, values) -> GoldenCase.assertClose(values, restored.get(name), 1e-6,
                    name + " after training and unmerge vs the loaded base"));
            Map<String, float[]> out = new LinkedHashMap<>();
            traced.adapter("default").stateDict().forEach((k, v) -> out.put(k, v.toFloatArray()));
            return out;
        }
    }

    private static Map<String, float[]> parameters(Block block) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    /**
     * The identity on the other layouts (Embedding, Conv2d, transformers Conv1D), with {@code lora_bias} and with
     * {@code modules_to_save}: a few steps move every trained tensor and nothing else; unmerging restores the base.
     */
    @Test
    void everyLayoutTrains() throws Exception {
        for (String name : List.of("c1_lora_embedding", "c2_lora_conv2d", "t1_gpt_conv1d_fan_in_fan_out",
                "h1_lora_bias", "b6_lora_mlp_modules_to_save")) {
            TracedCases c = TracedCases.all().stream().filter(x -> x.name().equals(name)).findFirst().get();
            try (Model model = c.load()) {
                Map<String, float[]> base = parameters(model.getBlock());
                TracedModel traced = Peft.traced(model.getBlock());
                traced.load(c.dir(), "default");
                traced.setActiveAdapters(List.of("default"));
                Map<String, float[]> start = new LinkedHashMap<>();
                traced.adapter("default").stateDict().forEach((k, v) -> start.put(k, v.toFloatArray()));
                Map<String, float[]> merged = parameters(model.getBlock());
                try (Trainer trainer = model.newTrainer(config());
                        NDManager data = NDManager.newBaseManager()) {
                    NDArray x = TensorArrays.toNDArray(
                            SafetensorsFile.read(c.dir().resolve("input.safetensors")).get("input"), data);
                    for (int i = 0; i < 3; i++) {
                        try (GradientCollector collector = trainer.newGradientCollector()) {
                            NDArray out = trainer.forward(new NDList(x)).singletonOrThrow();
                            collector.backward(out.square().mean());
                        }
                        trainer.step();
                    }
                }
                Map<String, float[]> after = parameters(model.getBlock());
                traced.adapter("default").stateDict().forEach((k, v) -> {
                    double moved = 0;
                    float[] now = v.toFloatArray();
                    for (int i = 0; i < now.length; i++) {
                        moved = Math.max(moved, Math.abs(now[i] - start.get(k)[i]));
                    }
                    assertTrue(moved > 1e-4, name + ": " + k + " was not trained (moved " + moved + ")");
                });
                java.util.Set<String> changed = new java.util.TreeSet<>();
                merged.forEach((k, v) -> {
                    if (!java.util.Arrays.equals(v, after.get(k))) {
                        changed.add(k);
                    }
                });
                java.util.Set<String> touched = new java.util.TreeSet<>();
                traced.adapter("default").modules().forEach((path, m) -> {
                    touched.add(path + ".weight");
                    if (m.describe().contains("lora_bias")) {
                        touched.add(path + ".bias");
                    }
                });
                touched.addAll(traced.adapter("default").replacements().keySet());
                assertEquals(touched, changed, name + ": the parameters training changed");
                traced.unmerge();
                Map<String, float[]> restored = parameters(model.getBlock());
                base.forEach((k, v) -> GoldenCase.assertClose(v, restored.get(k), 1e-6, name + " " + k
                        + " after unmerge"));
            }
        }
    }

    @Test
    void whatTheIdentityCannotTrainIsRefusedWhenTheTrainerIsCreated() throws Exception {
        Path dropout = Files.createDirectories(tmp.resolve("dropout"));
        Files.copy(B1.dir().resolve("adapter_model.safetensors"), dropout.resolve("adapter_model.safetensors"));
        Files.writeString(dropout.resolve("adapter_config.json"), Files.readString(B1.dir()
                .resolve("adapter_config.json")).replace("\"lora_dropout\": 0.0", "\"lora_dropout\": 0.1"));
        Map<String, String> refusals = new LinkedHashMap<>();
        refusals.put("b1_lora_mlp", "lora_dropout=0.1 cannot be trained on a traced model");
        refusals.put("h4_dora_mlp", "DoRA (use_dora=true) cannot be trained on a traced model");
        refusals.put("d_ia3_mlp", "IA3 cannot be trained on a traced model");
        refusals.put("e_adalora_mlp", "AdaLoRA cannot be trained on a traced model");
        for (Map.Entry<String, String> e : refusals.entrySet()) {
            TracedCases c = TracedCases.all().stream().filter(x -> x.name().equals(e.getKey())).findFirst().get();
            try (Model model = c.load()) {
                TracedModel traced = Peft.traced(model.getBlock());
                traced.load(e.getKey().startsWith("b1") ? dropout : c.dir(), "default");
                traced.setActiveAdapters(List.of("default"));
                InjectionFailure failure = assertThrows(InjectionFailure.class, () -> model.newTrainer(config()));
                assertTrue(failure.getMessage().startsWith("cannot train adapter 'default' on traced model "),
                        failure.getMessage());
                assertTrue(failure.getMessage().contains(e.getValue()), failure.getMessage());
                traced.unmerge();
            }
        }
    }
}

package io.peft4j.itapps;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.NoopTranslator;
import ai.djl.util.Pair;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.SafetensorsWriter;
import io.peft4j.testmodels.SyntheticRegression;
import io.peft4j.testmodels.TorchWeights;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A plain DJL application (no peft4j reference; compiled by the integration tests against DJL and test-models only)
 * that fine-tunes a LOADED model after using it for inference, the order in which DJL's {@code PtModel.newTrainer}
 * unfreezes every parameter of a loaded model:
 *
 * <ol>
 *   <li>builds the golden MLP twin, loads a case's {@code base_model.safetensors} and saves it with
 *       {@code model.save(OUT/model, "mlp")};</li>
 *   <li>creates a fresh Model, {@code model.load}s the saved model, predicts the case's input once with a Predictor
 *       (written to {@code OUT/output.safetensors}) and writes every parameter to
 *       {@code OUT/params_before.safetensors};</li>
 *   <li>creates a Trainer (Adam, lr 0.01, L2 loss) on the loaded model, trains {@code EPOCHS x STEPS_PER_EPOCH}
 *       manual trainBatch/step steps on synthetic data, and writes {@code OUT/params_after.safetensors},
 *       {@code OUT/loss.txt} (mean loss per epoch) and {@code OUT/requires_grad.txt} ({@code <name> <bool>} per
 *       parameter, read before the Trainer closes).</li>
 * </ol>
 *
 * <pre>
 * java -cp THIS:test-models:DJL io.peft4j.itapps.LoadedModelTrainApp &lt;caseDir&gt; &lt;outDir&gt;
 * </pre>
 */
public final class LoadedModelTrainApp {

    private static final int EPOCHS = 2;
    private static final int STEPS_PER_EPOCH = 5;
    private static final int BATCH = 16;

    private LoadedModelTrainApp() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: LoadedModelTrainApp <caseDir> <outDir>");
            System.exit(2);
        }
        Path caseDir = Paths.get(args[0]);
        Path out = Files.createDirectories(Paths.get(args[1]));
        Path modelDir = out.resolve("model");
        Engine.getInstance().setRandomSeed(42);

        Mlp original = new Mlp();
        try (Model model = Model.newInstance("mlp")) {
            model.setBlock(original);
            TorchWeights.load(original, caseDir.resolve("base_model.safetensors"), model.getNDManager());
            model.save(modelDir, "mlp");
        }
        System.out.println("LoadedModelTrainApp: saved " + modelDir);

        try (Model model = Model.newInstance("mlp");
                NDManager data = NDManager.newBaseManager()) {
            model.setBlock(new Mlp());
            model.load(modelDir, "mlp");
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), model.getNDManager())
                    .get("input");
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                NDArray output = predictor.predict(new NDList(input)).singletonOrThrow();
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                tensors.put("output", output.toType(DataType.FLOAT32, false));
                SafetensorsWriter.write(out.resolve("output.safetensors"), tensors);
            }
            writeParameters(model, out.resolve("params_before.safetensors"));
            System.out.println("LoadedModelTrainApp: predicted with the loaded model");

            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
            ArrayDataset dataset = SyntheticRegression.build(data, STEPS_PER_EPOCH * BATCH, 16, 4, BATCH, 42);
            List<Float> losses = new ArrayList<>();
            StringBuilder requiresGrad = new StringBuilder();
            try (Trainer trainer = model.newTrainer(config)) {
                for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                    double sum = 0;
                    int steps = 0;
                    for (Batch batch : trainer.iterateDataset(dataset)) {
                        try (GradientCollector collector = trainer.newGradientCollector()) {
                            NDList preds = trainer.forward(batch.getData());
                            NDArray loss = trainer.getLoss().evaluate(batch.getLabels(), preds);
                            collector.backward(loss);
                            sum += loss.getFloat();
                            steps++;
                        }
                        trainer.step();
                        batch.close();
                    }
                    losses.add((float) (sum / steps));
                    System.out.println("LoadedModelTrainApp: epoch " + epoch + " loss=" + losses.get(epoch - 1));
                }
                for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                    requiresGrad.append(p.getKey()).append(' ').append(p.getValue().requiresGradient()).append('\n');
                }
                writeParameters(model, out.resolve("params_after.safetensors"));
            }
            Files.writeString(out.resolve("requires_grad.txt"), requiresGrad, StandardCharsets.UTF_8);
            StringBuilder lossText = new StringBuilder();
            losses.forEach(l -> lossText.append(l).append('\n'));
            Files.writeString(out.resolve("loss.txt"), lossText, StandardCharsets.UTF_8);
        }
        System.out.println("LoadedModelTrainApp: OK");
    }

    private static void writeParameters(Model model, Path file) throws Exception {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            tensors.put(p.getKey(), p.getValue().getArray());
        }
        SafetensorsWriter.write(file, tensors);
    }
}

package io.peft4j.testmodels;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.NoopTranslator;
import ai.djl.util.Pair;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A plain DJL application over a golden case: builds the model twin, loads {@code base_model.safetensors}, runs
 * {@code input.safetensors} through an ordinary {@link Predictor} and writes the result as a safetensors file with
 * one tensor "output". Without any agent the output equals {@code expected_output_disabled.safetensors}.
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.testmodels.GoldenApp &lt;caseDir&gt; &lt;outputFile&gt; \
 *     [--model NAME] [--train-check]
 * </pre>
 *
 * <p>{@code --train-check} then runs one SGD step (loss = mean(output^2), lr 0.1) with a DJL {@link Trainer} and
 * prints one line per parameter: {@code GoldenApp: train-check <djlName> requiresGrad=<b> gradAbsSum=<x>
 * changed=<b>}, then a summary line.
 */
public final class GoldenApp {

    static final String USAGE =
            "usage: GoldenApp <caseDir> <outputFile> [--model DummyModel|MLP|ConvNet] [--train-check]";

    private GoldenApp() {}

    /**
     * Entry point; exits with 2 on a usage error and 1 on any other error.
     *
     * @param args see the class documentation
     */
    public static void main(String[] args) {
        CliArgs cli;
        try {
            cli = new CliArgs(args, Set.of("--model"), Set.of("--train-check"));
            if (cli.positional.size() != 2) {
                throw new IllegalArgumentException("expected <caseDir> <outputFile>, got " + cli.positional);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("GoldenApp: " + e.getMessage() + '\n' + USAGE);
            System.exit(2);
            return;
        }
        try {
            run(Paths.get(cli.positional.get(0)), Paths.get(cli.positional.get(1)), cli.get("--model", null),
                    cli.has("--train-check"));
        } catch (Exception e) {
            System.err.println("GoldenApp: error: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * Runs the application.
     *
     * @param caseDir the golden case directory
     * @param outputFile the safetensors file to write
     * @param modelName the model name, or null to read it from {@code case.json}
     * @param trainCheck whether to run the one-step training check afterwards
     * @return the output array's shape
     * @throws Exception on any failure
     */
    static long[] run(Path caseDir, Path outputFile, String modelName, boolean trainCheck) throws Exception {
        String name = modelName != null ? modelName : readModelName(caseDir);
        Block block = GoldenModels.build(name, caseDir);
        try (Model model = Model.newInstance("golden")) {
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            TorchWeights.load(block, caseDir.resolve("base_model.safetensors"), manager);
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), manager).get("input");
            if (input == null) {
                throw new IOException("No tensor 'input' in " + caseDir.resolve("input.safetensors"));
            }
            long[] shape;
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                NDArray output = predictor.predict(new NDList(input)).singletonOrThrow();
                shape = output.getShape().getShape();
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                tensors.put("output", output.toType(DataType.FLOAT32, false));
                SafetensorsWriter.write(outputFile, tensors);
            }
            System.out.println("GoldenApp: wrote " + outputFile + " shape=" + Arrays.toString(shape));
            if (trainCheck) {
                trainCheck(model, input);
            }
            return shape;
        }
    }

    static String readModelName(Path caseDir) throws IOException {
        Path caseJson = caseDir.resolve("case.json");
        if (!Files.isRegularFile(caseJson)) {
            throw new IOException("No case.json in " + caseDir + " (pass --model)");
        }
        JsonObject json = JsonParser.parseString(Files.readString(caseJson, StandardCharsets.UTF_8)).getAsJsonObject();
        JsonElement model = json.get("model");
        if (model == null || !model.isJsonPrimitive()) {
            throw new IOException(caseJson + " has no \"model\" (pass --model)");
        }
        return model.getAsString();
    }

    private static void trainCheck(Model model, NDArray input) {
        DefaultTrainingConfig config = new DefaultTrainingConfig(new GcSafeL2Loss())
                .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build());
        try (Trainer trainer = model.newTrainer(config);
                NDManager scope = model.getNDManager().newSubManager()) {
            Map<String, NDArray> before = new LinkedHashMap<>();
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                NDArray copy = p.getValue().getArray().duplicate();
                copy.attach(scope);
                before.put(p.getKey(), copy);
            }
            float loss;
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray out = trainer.forward(new NDList(input)).singletonOrThrow();
                NDArray lossValue = out.square().mean();
                loss = lossValue.getFloat();
                collector.backward(lossValue);
            }
            Map<String, Float> grads = new LinkedHashMap<>();
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                NDArray array = p.getValue().getArray();
                grads.put(p.getKey(), array.hasGradient() ? array.getGradient().abs().sum().getFloat() : 0f);
            }
            trainer.step();
            int trainable = 0;
            int changed = 0;
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                Parameter param = p.getValue();
                NDArray old = before.get(p.getKey());
                boolean isChanged = old == null
                        || !old.getShape().equals(param.getArray().getShape())
                        || old.sub(param.getArray()).abs().max().getFloat() > 0f;
                trainable += param.requiresGradient() ? 1 : 0;
                changed += isChanged ? 1 : 0;
                System.out.printf(Locale.ROOT, "GoldenApp: train-check %s requiresGrad=%b gradAbsSum=%.6g changed=%b%n",
                        p.getKey(), param.requiresGradient(), grads.getOrDefault(p.getKey(), 0f), isChanged);
            }
            System.out.printf(Locale.ROOT, "GoldenApp: train-check loss=%.6g trainable=%d changed=%d total=%d%n",
                    loss, trainable, changed, before.size());
        }
    }
}

package io.peft4j.testmodels;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.repository.zoo.Criteria;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.L2Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.NoopTranslator;
import ai.djl.util.Pair;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A plain DJL training application: trains an {@link Mlp} twin, or with {@code --torchscript} the same MLP loaded
 * from a TorchScript file with {@link Criteria}, on {@link SyntheticRegression} with an ordinary {@link Trainer} (L2
 * loss), either through {@code EasyTrain.fit} or a hand-written loop.
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.testmodels.TrainApp --out DIR [--mode fit|manual] [--optimizer adam|sgd]
 *     [--epochs 2] [--lr 0.01] [--base base_model.safetensors | --torchscript model.pt] [--hidden 32] [--samples 128]
 *     [--batch 16] [--seed 42] [--djl-l2loss] [--gc-before-backward]
 * </pre>
 *
 * <p>{@code --djl-l2loss} trains with DJL's own {@code L2Loss} (its {@code mul(Number)} lends libtorch a Java buffer,
 * see {@link GcSafeL2Loss}); {@code --gc-before-backward} (manual mode) runs a completed garbage collection between
 * each forward and its backward ({@link GarbageCollections#collectAndLitter}): the results must not change.
 *
 * <p>Writes {@code DIR/params_before.safetensors} and {@code DIR/params_after.safetensors} (every parameter of
 * {@code model.getBlock().getParameters()} under its DJL name, e.g. "01fc1_weight"), {@code DIR/loss.txt} (mean
 * loss per epoch, one per line) and saves the model with {@code model.save(DIR/model, "mlp")}. The MLP maps 16
 * inputs to 4 outputs, so a golden MLP {@code base_model.safetensors} fits the default {@code --hidden 32}.
 */
public final class TrainApp {

    static final String USAGE = "usage: TrainApp --out DIR [--mode fit|manual] [--optimizer adam|sgd] [--epochs N]"
            + " [--lr X] [--base FILE | --torchscript FILE] [--hidden N] [--samples N] [--batch N] [--seed N]"
            + " [--djl-l2loss] [--gc-before-backward]";

    static final int IN_FEATURES = 16;
    static final int OUT_FEATURES = 4;

    private TrainApp() {}

    /**
     * Entry point; exits with 2 on a usage error and 1 on any other error.
     *
     * @param args see the class documentation
     */
    public static void main(String[] args) {
        CliArgs cli;
        try {
            cli = new CliArgs(args, Set.of("--out", "--mode", "--optimizer", "--epochs", "--lr", "--base", "--hidden",
                    "--samples", "--batch", "--seed", "--torchscript"), Set.of("--djl-l2loss", "--gc-before-backward"));
            if (cli.get("--out", null) == null || !cli.positional.isEmpty()) {
                throw new IllegalArgumentException("--out is required and no positional arguments are allowed");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("TrainApp: " + e.getMessage() + '\n' + USAGE);
            System.exit(2);
            return;
        }
        try {
            run(cli);
        } catch (Exception e) {
            System.err.println("TrainApp: error: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    static List<Float> run(CliArgs cli) throws Exception {
        Path out = Paths.get(cli.get("--out", null));
        String mode = cli.get("--mode", "fit");
        String optimizerName = cli.get("--optimizer", "adam");
        int epochs = cli.getInt("--epochs", 2);
        int hidden = cli.getInt("--hidden", 32);
        int batchSize = cli.getInt("--batch", 16);
        int samples = cli.getInt("--samples", 128);
        long seed = cli.getInt("--seed", 42);
        float lr = cli.getFloat("--lr", "sgd".equals(optimizerName) ? 0.05f : 0.01f);
        String base = cli.get("--base", null);
        boolean gcBeforeBackward = cli.has("--gc-before-backward");
        if (!"fit".equals(mode) && !"manual".equals(mode)) {
            throw new IllegalArgumentException("--mode must be fit or manual, got " + mode);
        }
        if (gcBeforeBackward && !"manual".equals(mode)) {
            throw new IllegalArgumentException("--gc-before-backward needs --mode manual");
        }
        Optimizer optimizer;
        if ("sgd".equals(optimizerName)) {
            optimizer = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(lr)).build();
        } else if ("adam".equals(optimizerName)) {
            optimizer = Optimizer.adam().optLearningRateTracker(Tracker.fixed(lr)).build();
        } else {
            throw new IllegalArgumentException("--optimizer must be adam or sgd, got " + optimizerName);
        }
        Files.createDirectories(out);
        Engine.getInstance().setRandomSeed((int) seed);

        String torchscript = cli.get("--torchscript", null);
        try (Model model = torchscript != null ? loadTorchScript(Paths.get(torchscript)) : Model.newInstance("mlp");
                NDManager dataManager = NDManager.newBaseManager()) {
            if (torchscript == null) {
                model.setBlock(new Mlp(IN_FEATURES, hidden, OUT_FEATURES));
            }
            if (base != null) {
                Block block = model.getBlock();
                TorchWeights.load(block, Paths.get(base), model.getNDManager());
                System.out.println("TrainApp: loaded base weights from " + base);
            }
            LossRecorder recorder = new LossRecorder();
            DefaultTrainingConfig config = new DefaultTrainingConfig(cli.has("--djl-l2loss") ? new L2Loss()
                    : new GcSafeL2Loss()).optOptimizer(optimizer);
            if ("fit".equals(mode)) {
                config.addTrainingListeners(recorder);
            }
            ArrayDataset dataset =
                    SyntheticRegression.build(dataManager, samples, IN_FEATURES, OUT_FEATURES, batchSize, seed);
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(batchSize, IN_FEATURES));
                writeParameters(model, out.resolve("params_before.safetensors"));
                System.out.printf(Locale.ROOT, "TrainApp: mode=%s optimizer=%s lr=%s epochs=%d parameters=%d%n",
                        mode, optimizerName, lr, epochs, model.getBlock().getParameters().size());
                if ("fit".equals(mode)) {
                    for (int epoch = 1; epoch <= epochs; epoch++) {
                        EasyTrain.fit(trainer, 1, dataset, null);
                        List<Float> losses = recorder.getEpochLosses();
                        printEpoch(epoch, epochs, losses.get(losses.size() - 1));
                    }
                } else {
                    for (int epoch = 1; epoch <= epochs; epoch++) {
                        for (Batch batch : trainer.iterateDataset(dataset)) {
                            try (GradientCollector collector = trainer.newGradientCollector()) {
                                NDList preds = trainer.forward(batch.getData());
                                NDArray loss = trainer.getLoss().evaluate(batch.getLabels(), preds);
                                List<ByteBuffer> litter = gcBeforeBackward ? GarbageCollections.collectAndLitter()
                                        : List.of();
                                collector.backward(loss);
                                Reference.reachabilityFence(litter); // the freed memory stays littered until here
                                recorder.addBatch(loss.getFloat(), batch.getSize());
                            }
                            trainer.step();
                            batch.close();
                        }
                        printEpoch(epoch, epochs, recorder.endEpoch());
                    }
                }
                writeParameters(model, out.resolve("params_after.safetensors"));
            }
            List<Float> losses = recorder.getEpochLosses();
            Files.writeString(out.resolve("loss.txt"),
                    losses.stream().map(String::valueOf).collect(Collectors.joining("\n", "", "\n")),
                    StandardCharsets.UTF_8);
            model.setProperty("Epoch", String.valueOf(epochs));
            model.save(out.resolve("model"), "mlp");
            System.out.println("TrainApp: saved model to " + out.resolve("model") + " losses=" + losses);
            return losses;
        }
    }

    private static Model loadTorchScript(Path file) throws Exception {
        Criteria<NDList, NDList> criteria = Criteria.builder().setTypes(NDList.class, NDList.class)
                .optModelPath(file).optEngine("PyTorch").optTranslator(new NoopTranslator()).build();
        System.out.println("TrainApp: loaded TorchScript model " + file);
        return criteria.loadModel();
    }

    private static void printEpoch(int epoch, int epochs, float loss) {
        System.out.printf(Locale.ROOT, "TrainApp: epoch %d/%d loss=%.6f%n", epoch, epochs, loss);
    }

    /**
     * Writes every parameter of the model's block under its DJL name.
     *
     * @param model the model
     * @param file the safetensors file
     * @throws IOException if writing fails
     */
    static void writeParameters(Model model, Path file) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            tensors.put(p.getKey(), p.getValue().getArray());
        }
        SafetensorsWriter.write(file, tensors);
    }
}

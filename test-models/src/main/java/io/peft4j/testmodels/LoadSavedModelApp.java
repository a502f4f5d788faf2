package io.peft4j.testmodels;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.translate.NoopTranslator;
import ai.djl.util.Pair;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Proves that a model saved by {@link TrainApp} loads in a plain JVM: builds the same {@link Mlp} twin, calls
 * {@code model.load(dir, "mlp")}, optionally compares every loaded parameter with a safetensors file (e.g.
 * {@code params_after.safetensors}) and runs a forward on a fixed input.
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.testmodels.LoadSavedModelApp &lt;modelDir&gt; [--hidden 32]
 *     [--prefix mlp] [--expect-params FILE]
 * </pre>
 *
 * <p>Prints {@code LoadSavedModelApp: OK ...} and exits 0 on success.
 */
public final class LoadSavedModelApp {

    static final String USAGE =
            "usage: LoadSavedModelApp <modelDir> [--hidden N] [--prefix mlp] [--expect-params FILE]";

    private LoadSavedModelApp() {}

    /**
     * Entry point; exits with 2 on a usage error and 1 on any other error.
     *
     * @param args see the class documentation
     */
    public static void main(String[] args) {
        CliArgs cli;
        try {
            cli = new CliArgs(args, Set.of("--hidden", "--prefix", "--expect-params"), Set.of());
            if (cli.positional.size() != 1) {
                throw new IllegalArgumentException("expected <modelDir>, got " + cli.positional);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("LoadSavedModelApp: " + e.getMessage() + '\n' + USAGE);
            System.exit(2);
            return;
        }
        try {
            run(cli);
        } catch (Exception e) {
            System.err.println("LoadSavedModelApp: error: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    static float[] run(CliArgs cli) throws Exception {
        Path dir = Paths.get(cli.positional.get(0));
        int hidden = cli.getInt("--hidden", 32);
        String prefix = cli.get("--prefix", "mlp");
        String expect = cli.get("--expect-params", null);
        try (Model model = Model.newInstance("mlp")) {
            model.setBlock(new Mlp(TrainApp.IN_FEATURES, hidden, TrainApp.OUT_FEATURES));
            model.load(dir, prefix);
            int compared = 0;
            if (expect != null) {
                compared = compare(model, Paths.get(expect));
            }
            NDManager manager = model.getNDManager();
            NDArray input = manager.arange(0f, 2f * TrainApp.IN_FEATURES)
                    .div(TrainApp.IN_FEATURES).sub(1f).reshape(2, TrainApp.IN_FEATURES);
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                NDArray output = predictor.predict(new NDList(input)).singletonOrThrow();
                float[] values = output.toFloatArray();
                for (float v : values) {
                    if (!Float.isFinite(v)) {
                        throw new IllegalStateException("Non-finite output " + Arrays.toString(values));
                    }
                }
                System.out.printf(Locale.ROOT, "LoadSavedModelApp: OK loaded %s parameters=%d compared=%d"
                                + " output shape=%s sum=%.6f%n", dir, model.getBlock().getParameters().size(), compared,
                        Arrays.toString(output.getShape().getShape()), output.sum().getFloat());
                return values;
            }
        }
    }

    private static int compare(Model model, Path file) throws Exception {
        try (NDManager scratch = model.getNDManager().newSubManager()) {
            Map<String, NDArray> expected = TorchWeights.readSafetensors(file, scratch);
            int compared = 0;
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                NDArray want = expected.get(p.getKey());
                if (want == null) {
                    throw new IllegalStateException("Parameter " + p.getKey() + " is not in " + file);
                }
                NDArray got = p.getValue().getArray();
                if (!got.getShape().equals(want.getShape())) {
                    throw new IllegalStateException("Parameter " + p.getKey() + " has shape " + got.getShape()
                            + " but " + file + " has " + want.getShape());
                }
                float diff = got.sub(want).abs().max().getFloat();
                if (diff != 0f) {
                    throw new IllegalStateException(
                            "Parameter " + p.getKey() + " differs from " + file + " by " + diff);
                }
                compared++;
            }
            return compared;
        }
    }
}

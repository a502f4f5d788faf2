package io.peft4j.testmodels;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A plain DJL inference application over TorchScript files, as a service that serves a model exported from Python
 * would be written: each model is loaded with an ordinary {@link Criteria} ({@code optEngine("PyTorch")}), one input
 * runs through a {@link Predictor}, and the result is written as a safetensors file with one tensor "output".
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.testmodels.TracedApp \
 *     &lt;model.pt&gt; &lt;input.safetensors&gt; &lt;output.safetensors&gt; [more triples]
 * </pre>
 */
public final class TracedApp {

    static final String USAGE = "usage: TracedApp <model.pt> <input.safetensors> <output.safetensors> [...]";

    private TracedApp() {}

    /**
     * Entry point; exits with 2 on a usage error and 1 on any other error.
     *
     * @param args triples of model file, input file and output file
     */
    public static void main(String[] args) {
        if (args.length == 0 || args.length % 3 != 0) {
            System.err.println("TracedApp: expected triples of <model.pt> <input> <output>, got "
                    + Arrays.toString(args) + '\n' + USAGE);
            System.exit(2);
            return;
        }
        try {
            for (int i = 0; i < args.length; i += 3) {
                run(Paths.get(args[i]), Paths.get(args[i + 1]), Paths.get(args[i + 2]));
            }
        } catch (Exception e) {
            System.err.println("TracedApp: error: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * Loads {@code modelFile}, predicts tensor "input" of {@code inputFile} and writes {@code outputFile}.
     *
     * @param modelFile a TorchScript file
     * @param inputFile a safetensors file with tensor "input"
     * @param outputFile the safetensors file to write
     * @throws Exception on any failure
     */
    static void run(Path modelFile, Path inputFile, Path outputFile) throws Exception {
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(modelFile)
                .optEngine("PyTorch")
                .optTranslator(new NoopTranslator())
                .build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            NDArray input = TorchWeights.readSafetensors(inputFile, manager).get("input");
            NDArray output = predictor.predict(new NDList(input)).singletonOrThrow();
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("output", output.toType(DataType.FLOAT32, false));
            SafetensorsWriter.write(outputFile, tensors);
            System.out.println("TracedApp: " + modelFile.getFileName() + " -> " + outputFile + " shape="
                    + output.getShape());
        }
    }
}

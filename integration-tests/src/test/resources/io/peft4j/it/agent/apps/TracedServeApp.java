package io.peft4j.it.agent.apps;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import io.peft4j.testmodels.TorchWeights;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small inference service over a TorchScript model, written as a user would (it knows nothing of peft4j): it loads
 * {@code caseDir/base_model.torchscript.pt} with {@code Criteria}, then each of N threads opens its own Predictor and
 * runs {@code input.safetensors} through it until standard input says {@code stop}, printing
 * {@code OUT t=THREAD n=BATCH v1,v2,...} after every batch. Prints {@code READY} when the model is loaded and
 * {@code STOPPED} at the end; exit status 1 if any batch failed.
 *
 * <pre>
 * TracedServeApp &lt;caseDir&gt; [--threads N]
 * </pre>
 */
public final class TracedServeApp {

    private TracedServeApp() {}

    public static void main(String[] args) throws Exception {
        Path caseDir = Path.of(args[0]);
        int threads = args.length > 2 && "--threads".equals(args[1]) ? Integer.parseInt(args[2]) : 1;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        Criteria<NDList, NDList> criteria = Criteria.builder().setTypes(NDList.class, NDList.class)
                .optModelPath(caseDir.resolve("base_model.torchscript.pt")).optEngine("PyTorch")
                .optTranslator(new NoopTranslator()).build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel()) {
            NDManager manager = model.getNDManager();
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), manager).get("input");
            float[] data = input.toFloatArray();
            Shape shape = input.getShape();
            Thread commands = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null && !"stop".equals(line.trim())) {
                        // wait for stop
                    }
                } catch (Exception e) {
                    // end of input: stop
                }
                stop.set(true);
            }, "commands");
            commands.setDaemon(true);
            commands.start();
            say("READY pid=" + ProcessHandle.current().pid());
            List<Thread> workers = new ArrayList<>();
            for (int t = 1; t <= threads; t++) {
                int id = t;
                Thread worker = new Thread(() -> {
                    try (Predictor<NDList, NDList> predictor = model.newPredictor()) {
                        for (int n = 1; !stop.get(); n++) {
                            try (NDManager batch = manager.newSubManager()) {
                                NDList out = predictor.predict(new NDList(batch.create(data, shape)));
                                say("OUT t=" + id + " n=" + n + " " + join(out.singletonOrThrow().toFloatArray()));
                                out.close();
                            }
                        }
                    } catch (Throwable e) {
                        failures.incrementAndGet();
                        say("FAILED t=" + id + " " + e);
                        e.printStackTrace();
                    }
                }, "worker-" + t);
                workers.add(worker);
                worker.start();
            }
            for (Thread w : workers) {
                w.join();
            }
        }
        say("STOPPED failures=" + failures.get());
        System.exit(failures.get() == 0 ? 0 : 1);
    }

    private static String join(float[] values) {
        StringBuilder sb = new StringBuilder();
        for (float v : values) {
            sb.append(sb.length() == 0 ? "" : ",").append(v);
        }
        return sb.toString();
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}

package io.peft4j.it.agent.apps;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.translate.NoopTranslator;
import com.google.gson.JsonParser;
import io.peft4j.testmodels.GoldenModels;
import io.peft4j.testmodels.TorchWeights;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DJL inference service under load, written as a user would (it knows nothing of peft4j), over a golden case.
 *
 * <pre>
 * LoadApp &lt;caseDir&gt; --threads N          N threads forward continuously until standard input says stop
 * LoadApp &lt;caseDir&gt; --forwards N         one thread runs N forwards, sampling memory 20 times
 * </pre>
 *
 * <p>With {@code --threads}, each thread prints an output only the first time it sees it
 * ({@code OUT t=T n=N v1,v2,...}: every output it ever produced is among its printed ones) and, at the end,
 * {@code DONE t=T forwards=N distinct=D}. With {@code --forwards}, it prints {@code SAMPLE n=N rssKb=R arrays=A}
 * after every N/20 forwards: the resident set size from {@code /proc/self/status} and the number of NDArrays alive
 * in all of DJL's managers (the engine's system manager and everything under it). A failed forward prints
 * {@code FAILED t=T ...} and makes the exit status 1. Prints {@code READY} once the model is loaded.
 */
public final class LoadApp {

    private LoadApp() {}

    public static void main(String[] args) throws Exception {
        Path caseDir = Path.of(args[0]);
        int threads = "--threads".equals(args[1]) ? Integer.parseInt(args[2]) : 1;
        long forwards = "--forwards".equals(args[1]) ? Long.parseLong(args[2]) : -1;
        String modelName = JsonParser.parseString(Files.readString(caseDir.resolve("case.json"),
                StandardCharsets.UTF_8)).getAsJsonObject().get("model").getAsString();
        Block block = GoldenModels.build(modelName);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        try (Model model = Model.newInstance("load")) {
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            TorchWeights.load(block, caseDir.resolve("base_model.safetensors"), manager);
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), manager).get("input");
            float[] data = input.toFloatArray();
            Shape shape = input.getShape();
            NDManager system = manager;
            while (system.getParentManager() != null) {
                system = system.getParentManager();
            }
            NDManager root = system;
            if (forwards < 0) {
                Thread commands = new Thread(() -> waitForStop(stop), "commands");
                commands.setDaemon(true);
                commands.start();
            }
            say("READY");
            List<Thread> workers = new ArrayList<>();
            for (int t = 1; t <= threads; t++) {
                int id = t;
                Thread worker = new Thread(() -> {
                    Set<Output> seen = new HashSet<>();
                    long n = 0;
                    try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                        while (forwards < 0 ? !stop.get() : n < forwards) {
                            n++;
                            try (NDManager batch = manager.newSubManager()) {
                                NDList out = predictor.predict(new NDList(batch.create(data, shape)));
                                float[] values = out.singletonOrThrow().toFloatArray();
                                out.close();
                                if (forwards < 0 && seen.add(new Output(values))) {
                                    say("OUT t=" + id + " n=" + n + " " + join(values));
                                }
                            }
                            if (forwards > 0 && n % Math.max(1, forwards / 20) == 0) {
                                say("SAMPLE n=" + n + " rssKb=" + rssKb() + " arrays="
                                        + root.getManagedArrays().size());
                            }
                        }
                    } catch (Throwable e) {
                        failures.incrementAndGet();
                        say("FAILED t=" + id + " n=" + n + " " + e);
                        e.printStackTrace();
                    }
                    say("DONE t=" + id + " forwards=" + n + " distinct=" + seen.size());
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

    /** An output compared by its exact values. */
    private record Output(float[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Output other && java.util.Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(values);
        }
    }

    private static long rssKb() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static void waitForStop(AtomicBoolean stop) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null && !"stop".equals(line.trim())) {
                // only stop is understood
            }
        } catch (Exception e) {
            // end of input: stop
        }
        stop.set(true);
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

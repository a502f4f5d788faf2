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
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small DJL inference service over a golden case, written as a user would (it knows nothing of peft4j): it builds
 * the model twin, loads {@code base_model.safetensors}, then each of N threads opens its own Predictor and runs
 * {@code input.safetensors} through it, printing {@code OUT t=THREAD n=BATCH v1,v2,...} after every batch.
 *
 * <pre>
 * ServeApp &lt;caseDir&gt; [--threads N] [--step | --distinct | --forwards N]
 * </pre>
 *
 * <p>Without {@code --step} the threads loop until standard input says {@code stop}; with {@code --step} (one
 * thread) each {@code run} line on standard input runs exactly one batch. Prints {@code READY} when the model is
 * loaded, {@code PREDICTOR t=T} when a thread has its Predictor, {@code STOPPED} at the end. Exit status 1 if any
 * batch failed.
 *
 * <p>For long runs: with {@code --distinct} a thread prints an output only the first time it sees it (every output
 * it ever produced is among its printed ones) and {@code DONE t=T forwards=N distinct=D} at the end; with
 * {@code --forwards N} each thread runs N batches and prints no output but {@code SAMPLE n=N rssKb=R arrays=A} after
 * every N/20: the resident set size from {@code /proc/self/status} and the number of NDArrays alive in all of DJL's
 * managers (the engine's system manager and everything under it).
 */
public final class ServeApp {

    private ServeApp() {}

    public static void main(String[] args) throws Exception {
        Path caseDir = Path.of(args[0]);
        int threads = 1;
        boolean step = false;
        boolean distinct = false;
        long forwards = -1;
        for (int i = 1; i < args.length; i++) {
            if ("--threads".equals(args[i])) {
                threads = Integer.parseInt(args[++i]);
            } else if ("--step".equals(args[i])) {
                step = true;
            } else if ("--distinct".equals(args[i])) {
                distinct = true;
            } else if ("--forwards".equals(args[i])) {
                forwards = Long.parseLong(args[++i]);
            } else {
                throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        String modelName = JsonParser.parseString(Files.readString(caseDir.resolve("case.json"),
                StandardCharsets.UTF_8)).getAsJsonObject().get("model").getAsString();
        Block block = GoldenModels.build(modelName);
        AtomicBoolean stop = new AtomicBoolean();
        Semaphore runs = new Semaphore(0);
        AtomicInteger failures = new AtomicInteger();
        try (Model model = Model.newInstance("serve")) {
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            TorchWeights.load(block, caseDir.resolve("base_model.safetensors"), manager);
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), manager).get("input");
            float[] data = input.toFloatArray();
            Shape shape = input.getShape();
            Thread commands = new Thread(() -> readCommands(stop, runs), "commands");
            commands.setDaemon(true);
            commands.start();
            say("READY pid=" + ProcessHandle.current().pid());
            boolean stepMode = step;
            boolean distinctMode = distinct;
            long limit = forwards;
            NDManager system = manager;
            while (system.getParentManager() != null) {
                system = system.getParentManager();
            }
            NDManager root = system;
            List<Thread> workers = new ArrayList<>();
            for (int t = 1; t <= threads; t++) {
                int id = t;
                Thread worker = new Thread(() -> {
                    Set<List<Float>> seen = new HashSet<>();
                    long n = 0;
                    try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                        say("PREDICTOR t=" + id);
                        while (limit < 0 ? !stop.get() : n < limit) {
                            n++;
                            if (stepMode) {
                                runs.acquire();
                                if (stop.get()) {
                                    break;
                                }
                            }
                            try (NDManager batch = manager.newSubManager()) {
                                NDList out = predictor.predict(new NDList(batch.create(data, shape)));
                                float[] values = out.singletonOrThrow().toFloatArray();
                                out.close();
                                if (limit < 0 && (!distinctMode || seen.add(boxed(values)))) {
                                    say("OUT t=" + id + " n=" + n + " " + join(values));
                                }
                            }
                            if (limit > 0 && n % Math.max(1, limit / 20) == 0) {
                                say("SAMPLE n=" + n + " rssKb=" + rssKb() + " arrays="
                                        + root.getManagedArrays().size());
                            }
                        }
                    } catch (Throwable e) {
                        failures.incrementAndGet();
                        say("FAILED t=" + id + " " + e);
                        e.printStackTrace();
                    }
                    if (distinctMode || limit > 0) {
                        say("DONE t=" + id + " forwards=" + n + " distinct=" + seen.size());
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

    private static void readCommands(AtomicBoolean stop, Semaphore runs) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if ("stop".equals(line.trim())) {
                    break;
                }
                if ("run".equals(line.trim())) {
                    runs.release();
                }
            }
        } catch (Exception e) {
            // end of input: stop
        }
        stop.set(true);
        runs.release(1000);
    }

    private static List<Float> boxed(float[] values) {
        List<Float> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return list;
    }

    private static long rssKb() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
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

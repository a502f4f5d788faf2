package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.tuner.AdapterSelection;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Supplier;

/**
 * Many adapters on one model (issue 11): 4 x Linear(1024), batch 64, 8 LoRA adapters r=8 on every Linear. Paired,
 * alternating rounds in one JVM (the order of the cases reverses every round); each round gives a ratio per case
 * against {@code single} (one adapter for the whole batch), and the report is the median ratio with its range.
 *
 * <pre>
 * java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
 *   -cp "benchmarks/target/benchmarks.jar:benchmarks/target/peft4j-core-lib/*" io.peft4j.bench.MultiAdapterBench [rounds]
 * </pre>
 */
public final class MultiAdapterBench {

    private static final int WIDTH = 1024;
    private static final int BATCH = 64;
    private static final int ADAPTERS = 8;
    private static final int PASSES = 20;

    private MultiAdapterBench() {}

    /** Runs the rounds and prints the table. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock model = new SequentialBlock();
            for (int i = 0; i < 4; i++) {
                model.add(Linear.builder().setUnits(WIDTH).build());
            }
            model.initialize(manager, DataType.FLOAT32, new Shape(BATCH, WIDTH));
            long baseBytes = bytes(model);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < ADAPTERS; i++) {
                names.add("a" + i);
                Peft.injectAdapter(LoraConfig.builder().r(8).loraAlpha(16).targetModules(List.of("0", "1", "2", "3"))
                        .initLoraWeights(InitLoraWeights.FALSE).build(), model, "a" + i);
            }
            long withAdapters = bytes(model);
            NDArray x = manager.randomNormal(new Shape(BATCH, WIDTH));
            List<String> rows = new ArrayList<>();
            for (int i = 0; i < BATCH; i++) {
                rows.add(names.get(i % ADAPTERS));
            }
            Map<String, Supplier<Long>> cases = new LinkedHashMap<>();
            cases.put("single", () -> time(() -> {
                try (AdapterSelection s = Peft.useAdapters("a0")) {
                    forward(model, x);
                }
            }));
            cases.put("mixed", () -> time(() -> {
                try (AdapterSelection s = Peft.useAdapterPerRow(rows)) {
                    forward(model, x);
                }
            }));
            cases.put("sequential", () -> time(() -> {
                int part = BATCH / ADAPTERS;
                for (int a = 0; a < ADAPTERS; a++) {
                    try (AdapterSelection s = Peft.useAdapters(names.get(a))) {
                        forward(model, x.get(a * part + ":" + (a + 1) * part));
                    }
                }
            }));
            cases.put("base", () -> time(() -> {
                try (AdapterSelection s = Peft.useAdapters()) {
                    forward(model, x);
                }
            }));
            cases.put("threads-own", () -> threaded(model, x, threads, t -> names.get(t % ADAPTERS)));
            cases.put("threads-one", () -> threaded(model, x, threads, t -> "a0"));
            for (Supplier<Long> c : cases.values()) {
                c.get(); // warm-up
            }
            Map<String, List<Double>> ratios = new LinkedHashMap<>();
            List<String> order = new ArrayList<>(cases.keySet());
            for (int r = 0; r < rounds; r++) {
                Map<String, Long> nanos = new LinkedHashMap<>();
                List<String> thisRound = new ArrayList<>(order);
                if (r % 2 == 1) {
                    java.util.Collections.reverse(thisRound);
                }
                for (String name : thisRound) {
                    nanos.put(name, cases.get(name).get());
                }
                for (String name : order) {
                    String against = name.startsWith("threads") ? "threads-one" : "single";
                    ratios.computeIfAbsent(name, k -> new ArrayList<>())
                            .add((double) nanos.get(against) / nanos.get(name));
                }
                System.out.println("round " + r + " ms per " + PASSES + " passes: " + format(nanos));
            }
            System.out.println("| case | throughput vs reference (median of " + rounds + " rounds) | range |");
            System.out.println("|---|---|---|");
            for (Map.Entry<String, List<Double>> e : ratios.entrySet()) {
                double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
                System.out.printf(Locale.ROOT, "| %s | %.3fx | %.3f-%.3f |%n", e.getKey(), v[v.length / 2], v[0],
                        v[v.length - 1]);
            }
            System.out.printf(Locale.ROOT, "memory: base %d bytes; 8 model copies %d bytes; one model + 8 adapters %d"
                    + " bytes (%.2f%% of 8 copies)%n", baseBytes, 8 * baseBytes, withAdapters,
                    100.0 * withAdapters / (8 * baseBytes));
        }
    }

    private static String format(Map<String, Long> nanos) {
        StringBuilder sb = new StringBuilder();
        nanos.forEach((k, v) -> sb.append(k).append('=').append(String.format(Locale.ROOT, "%.1f ", v / 1e6)));
        return sb.toString().trim();
    }

    private static long bytes(SequentialBlock model) {
        long n = 0;
        for (Pair<String, Parameter> p : model.getParameters()) {
            n += p.getValue().getArray().getShape().size() * p.getValue().getArray().getDataType().getNumOfBytes();
        }
        return n;
    }

    private static void forward(SequentialBlock model, NDArray x) {
        try (NDManager scope = x.getManager().newSubManager()) {
            model.forward(new ParameterStore(scope, false), new NDList(x), false).head().toFloatArray();
        }
    }

    private static long time(Runnable pass) {
        long t = System.nanoTime();
        for (int i = 0; i < PASSES; i++) {
            pass.run();
        }
        return System.nanoTime() - t;
    }

    /** {@code threads} threads, each {@value #PASSES} passes with its adapter; wall time of all. */
    private static long threaded(SequentialBlock model, NDArray x, int threads,
            java.util.function.IntFunction<String> adapterOf) {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        List<Thread> all = new ArrayList<>();
        float[] data = x.toFloatArray();
        for (int t = 0; t < threads; t++) {
            String adapter = adapterOf.apply(t);
            Thread th = new Thread(() -> {
                try (NDManager own = NDManager.newBaseManager()) {
                    NDArray mine = own.create(data, x.getShape());
                    start.await();
                    for (int i = 0; i < PASSES; i++) {
                        try (AdapterSelection s = Peft.useAdapters(adapter)) {
                            forward(model, mine);
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            th.start();
            all.add(th);
        }
        try {
            start.await();
            long t = System.nanoTime();
            for (Thread th : all) {
                th.join();
            }
            return System.nanoTime() - t;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}

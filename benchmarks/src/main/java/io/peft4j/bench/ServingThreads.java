package io.peft4j.bench;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.translate.NoopTranslator;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Serving threads (issue 15, item 4): forward throughput of one model shared by 1, 2 and 4 predictor threads (one
 * {@link Predictor} each), LoRA r=8 on the 4 Linear layers (Java API, unmerged) against the same model without
 * adapters in the same JVM. What matters is the scaling: {@code (adapted at N / adapted at 1) / (base at N / base
 * at 1)}, per round, median of the rounds; peft4j's read lock per forward must not serialise the threads (goal
 * ≥ 0.95). Paired alternating rounds (the order of base and adapted reverses every round). Because throughput on a
 * shared machine follows the scheduler more than the model, it also reports what does not depend on the load: the
 * time the predictor threads spent blocked or waiting (JVM thread contention monitoring: a lock that serialised
 * forwards would show up here), per second of measurement and thread.
 *
 * <pre>
 * java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
 *   -cp "benchmarks/target/benchmarks.jar:benchmarks/target/peft4j-core-lib/*" io.peft4j.bench.ServingThreads \
 *   [rounds] [width] [millis per measurement]
 * </pre>
 */
public final class ServingThreads {

    private static final int[] THREADS = {1, 2, 4};

    private ServingThreads() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        long millis = args.length > 2 ? Long.parseLong(args[2]) : 1000;
        Jvm.API.require();
        try (Model base = model(width, false); Model adapted = model(width, true)) {
            double[][] baseRate = new double[THREADS.length][rounds];
            double[][] loraRate = new double[THREADS.length][rounds];
            long[] baseWaited = new long[THREADS.length];
            long[] loraWaited = new long[THREADS.length];
            THREADS_MX.setThreadContentionMonitoringEnabled(true);
            for (int t = 0; t < THREADS.length; t++) { // warm-up, unrecorded
                rate(base, width, THREADS[t], millis / 2);
                rate(adapted, width, THREADS[t], millis / 2);
            }
            for (int round = 0; round < rounds; round++) {
                for (int t = 0; t < THREADS.length; t++) {
                    boolean baseFirst = round % 2 == 0;
                    WAITED_MS.reset();
                    double first = rate(baseFirst ? base : adapted, width, THREADS[t], millis);
                    long waitedFirst = WAITED_MS.sumThenReset();
                    double second = rate(baseFirst ? adapted : base, width, THREADS[t], millis);
                    long waitedSecond = WAITED_MS.sumThenReset();
                    baseWaited[t] += baseFirst ? waitedFirst : waitedSecond;
                    loraWaited[t] += baseFirst ? waitedSecond : waitedFirst;
                    baseRate[t][round] = baseFirst ? first : second;
                    loraRate[t][round] = baseFirst ? second : first;
                }
            }
            System.out.printf(Locale.ROOT, "MLP w%d, batch %d, LoRA r=%d on 4 layers (unmerged, Java API) vs no "
                    + "adapter; %d rounds of %d ms per case; forwards/s: median [lowest - highest]%n", width,
                    Models.BATCH, Setups.RANK, rounds, millis);
            System.out.println("| threads | base forwards/s | adapted forwards/s | adapted / base | scaling "
                    + "adapted / scaling base (vs 1 thread) | goal | met | blocked or waiting, ms per thread-second:"
                    + " base / adapted |");
            System.out.println("|---:|---:|---:|---|---|---|---|---|");
            for (int t = 0; t < THREADS.length; t++) {
                double[] ratio = new double[rounds];
                double[] scaling = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = loraRate[t][r] / baseRate[t][r];
                    scaling[r] = (loraRate[t][r] / loraRate[0][r]) / (baseRate[t][r] / baseRate[0][r]);
                }
                double s = median(scaling);
                double threadSeconds = rounds * THREADS[t] * millis / 1000.0;
                System.out.printf(Locale.ROOT, "| %d | %.0f | %.0f | %s | %s | %s | %s | %.2f / %.2f |%n", THREADS[t],
                        median(baseRate[t]), median(loraRate[t]), spread(ratio),
                        t == 0 ? "1 (reference)" : spread(scaling), t == 0 ? "–" : "≥ 0.95",
                        t == 0 ? "–" : s >= 0.95 ? "yes" : "**no**", baseWaited[t] / threadSeconds,
                        loraWaited[t] / threadSeconds);
            }
        }
        System.exit(0);
    }

    private static Model model(int width, boolean lora) {
        Model model = Model.newInstance(lora ? "adapted" : "base");
        Block block = Models.mlp(width);
        model.setBlock(block);
        Models.initialize(block, model.getNDManager(), width);
        if (lora) {
            PeftCalls.injectLora(block, Setups.RANK, Setups.ALPHA, Models.MLP_LINEARS);
            MlpForward.check(PeftCalls.tunedModules(block) == Models.LAYERS, "LoRA on the 4 Linear layers");
        }
        return model;
    }

    /** Forwards per second of {@code threads} threads, each with its own Predictor on {@code model}. */
    /** Milliseconds the predictor threads of the case being measured were blocked or waiting. */
    private static final LongAdder WAITED_MS = new LongAdder();
    private static final ThreadMXBean THREADS_MX = ManagementFactory.getThreadMXBean();

    private static long waitedMs() {
        ThreadInfo info = THREADS_MX.getThreadInfo(Thread.currentThread().getId());
        return Math.max(0, info.getWaitedTime()) + Math.max(0, info.getBlockedTime());
    }

    private static double rate(Model model, int width, int threads, long millis) throws Exception {
        LongAdder done = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < threads; i++) {
            Thread w = new Thread(() -> {
                try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                        NDManager data = NDManager.newBaseManager()) {
                    NDArray x = Models.input(data, width);
                    predictor.predict(new NDList(x)).close();
                    start.await();
                    long waited = waitedMs();
                    while (!stop.get()) {
                        predictor.predict(new NDList(x)).close();
                        done.increment();
                    }
                    WAITED_MS.add(waitedMs() - waited);
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            w.start();
            workers.add(w);
        }
        start.await();
        long begin = System.nanoTime();
        Thread.sleep(millis);
        stop.set(true);
        long count = done.sum();
        long elapsed = System.nanoTime() - begin;
        for (Thread w : workers) {
            w.join();
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("a predictor thread failed", errors.get(0));
        }
        return count / (elapsed / 1e9);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String spread(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return String.format(Locale.ROOT, "%.3f [%.3f – %.3f]", median(values), v[0], v[v.length - 1]);
    }
}

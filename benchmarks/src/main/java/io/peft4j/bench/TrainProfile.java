package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.Pair;
import ai.djl.util.PairList;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where one DJL training step of {@link TrainingRig} spends its time (BENCHMARKS.md, "The LoRA training step"):
 * the phases of the step, minor page faults, what {@code getParameters()} costs, which parameters libtorch tracks
 * gradients for, and optionally libtorch's own profiler (per-op times, including the backward ops).
 *
 * <pre>
 * java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
 *   -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/peft4j-core-lib/*' io.peft4j.bench.TrainProfile lora \
 *   [--steps N] [--cpu] [--torch-profile FILE]
 * </pre>
 * {@code --cpu} times the phases in CPU time of the calling thread instead of wall time: with one intra-op thread
 * libtorch runs every op, backward included, on that thread, so the breakdown stays readable on a busy machine.
 * Mode {@code lora} also runs with {@code -javaagent:agent/target/peft4j-agent.jar=mklCodePaths=features} and
 * {@code -cp benchmarks/target/benchmarks.jar}: peft4j then comes from the agent jar.
 * Modes {@code full} (every weight trains) and {@code hand} (the same LoRA written as DJL blocks,
 * {@link HandLoraLinear}: what the step costs without peft4j) run with {@code -cp benchmarks/target/benchmarks.jar}
 * only.
 */
public final class TrainProfile {

    private TrainProfile() {}

    public static void main(String[] args) throws IOException {
        TrainingRig.Mode mode = TrainingRig.Mode.valueOf(args.length > 0 ? args[0].toUpperCase(Locale.ROOT) : "LORA");
        boolean lora = mode == TrainingRig.Mode.LORA;
        int steps = 200;
        Path torchProfile = null;
        boolean cpu = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--torch-profile" -> torchProfile = Path.of(args[++i]);
                case "--cpu" -> cpu = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (lora|hand|full [--steps N] [--cpu] [--torch-profile FILE])");
            }
        }
        // LoRA through the Java API, or with the agent given at launch (e.g. mklCodePaths=features) providing peft4j
        (lora ? (Jvm.withAgent() ? Jvm.AGENT : Jvm.API) : Jvm.PLAIN).require();
        try (TrainingRig rig = new TrainingRig(1024, mode)) {
            for (int i = 0; i < Math.max(20, steps / 4); i++) {
                rig.step();
            }
            parameters(rig);
            long[] phases = new long[TrainingRig.PHASES.size()];
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            LongSupplier clock = cpu ? threads::getCurrentThreadCpuTime : System::nanoTime;
            long faults = minorFaults();
            long begin = clock.getAsLong();
            for (int i = 0; i < steps; i++) {
                rig.step(phases, clock);
            }
            double total = (clock.getAsLong() - begin) / 1e6 / steps;
            faults = minorFaults() - faults;
            System.out.printf(Locale.ROOT, "%s step: %.3f ms %s (mean of %d), minor page faults %.1f per step%n",
                    mode, total, cpu ? "CPU time of this thread" : "wall", steps,
                    faults / (double) steps);
            for (int i = 0; i < phases.length; i++) {
                System.out.printf(Locale.ROOT, "  %-28s %8.3f ms%n", TrainingRig.PHASES.get(i),
                        phases[i] / 1e6 / steps);
            }
            getParametersCost(rig);
            if (torchProfile != null) {
                JniUtils.startProfile(false, true, false);
                for (int i = 0; i < 20; i++) {
                    rig.step();
                }
                JniUtils.stopProfile(torchProfile.toString());
                ops(torchProfile, 20);
            }
        }
        System.exit(0);
    }

    /** Every parameter: DJL's requiresGradient and whether libtorch tracks a gradient for its tensor. */
    private static void parameters(TrainingRig rig) {
        PairList<String, Parameter> all = rig.block().getParameters();
        int tracked = 0;
        long trackedElements = 0;
        for (Pair<String, Parameter> p : all) {
            NDArray array = p.getValue().getArray();
            boolean torchGrad = JniUtils.requiresGrad((ai.djl.pytorch.engine.PtNDArray) array);
            if (torchGrad) {
                tracked++;
                trackedElements += array.size();
            }
            System.out.printf(Locale.ROOT, "  param %-28s %-14s DJL requiresGradient=%-5s libtorch requires_grad=%s%n",
                    p.getKey(), array.getShape(), p.getValue().requiresGradient(), torchGrad);
        }
        System.out.printf(Locale.ROOT, "parameters: %d, libtorch tracks gradients of %d (%,d elements)%n", all.size(),
                tracked, trackedElements);
    }

    /** What one {@code getParameters()} walk of the model costs (DJL calls it at initialisation and in checks). */
    private static void getParametersCost(TrainingRig rig) {
        int n = 20_000;
        long sink = 0;
        for (int i = 0; i < n; i++) {
            sink += rig.block().getParameters().size();
        }
        long begin = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink += rig.block().getParameters().size();
        }
        System.out.printf(Locale.ROOT, "getParameters(): %.2f µs per call (%d parameters)%n",
                (System.nanoTime() - begin) / 1e3 / n, sink / (2L * n));
    }

    /** One op of libtorch's trace. */
    private record Op(String name, String shape, long tid, double ts, double dur) {}

    /**
     * Aggregates libtorch's trace (Chrome trace JSON, one event per op with start and duration): self time (the op's
     * duration minus that of the ops it called) per op name and per op name with input shapes, per step.
     */
    private static void ops(Path trace, int steps) throws IOException {
        String json = Files.readString(trace);
        Pattern field = Pattern.compile(
                "\"(name|ts|dur|tid|shape)\":\\s*(\"[^\"]*\"|\\[(?:[^\\[\\]]|\\[[^\\[\\]]*\\])*\\]|[0-9.]+)");
        List<Op> ops = new ArrayList<>();
        for (String chunk : json.split("\\{\\s*(?=\"name\")")) {
            Map<String, String> f = new LinkedHashMap<>();
            Matcher m = field.matcher(chunk);
            while (m.find()) {
                f.putIfAbsent(m.group(1), m.group(2));
            }
            if (f.containsKey("name") && f.containsKey("dur") && f.containsKey("ts")) {
                ops.add(new Op(f.get("name").replace("\"", ""), f.getOrDefault("shape", "").replaceAll("\\s+", ""),
                        f.containsKey("tid") ? (long) Double.parseDouble(f.get("tid").replace("\"", "")) : 0,
                        Double.parseDouble(f.get("ts")), Double.parseDouble(f.get("dur"))));
            }
        }
        ops.sort((a, b) -> a.tid() != b.tid() ? Long.compare(a.tid(), b.tid())
                : a.ts() != b.ts() ? Double.compare(a.ts(), b.ts()) : Double.compare(b.dur(), a.dur()));
        double[] self = new double[ops.size()];
        List<Integer> stack = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            while (!stack.isEmpty()) {
                Op top = ops.get(stack.get(stack.size() - 1));
                if (top.tid() == op.tid() && op.ts() < top.ts() + top.dur()) {
                    break;
                }
                stack.remove(stack.size() - 1);
            }
            self[i] = op.dur();
            if (!stack.isEmpty()) {
                self[stack.get(stack.size() - 1)] -= op.dur();
            }
            stack.add(i);
        }
        Map<String, double[]> byName = new LinkedHashMap<>();
        Map<String, double[]> byShape = new LinkedHashMap<>();
        double total = 0;
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            total += self[i];
            double[] n = byName.computeIfAbsent(op.name(), k -> new double[2]);
            n[0] += self[i];
            n[1]++;
            double[] s = byShape.computeIfAbsent(op.name() + " " + op.shape(), k -> new double[2]);
            s[0] += self[i];
            s[1]++;
        }
        System.out.printf(Locale.ROOT, "libtorch ops: %.1f µs of self time per step (%d steps profiled)%n",
                total / steps, steps);
        print("by op (self time)", byName, steps, 25);
        print("by op and input shapes (self time)", byShape, steps, 25);
    }

    private static void print(String title, Map<String, double[]> acc, int steps, int limit) {
        List<Map.Entry<String, double[]>> sorted = new ArrayList<>(acc.entrySet());
        sorted.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        System.out.println(title + ", per step:");
        for (Map.Entry<String, double[]> e : sorted.subList(0, Math.min(limit, sorted.size()))) {
            System.out.printf(Locale.ROOT, "  %9.1f µs %6.1f calls  %s%n", e.getValue()[0] / steps,
                    e.getValue()[1] / steps, e.getKey());
        }
    }

    /** Minor page faults of this process so far ({@code /proc/self/stat}, field 10). */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}

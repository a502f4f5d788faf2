package io.peft4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The side-by-side run ({@code ./bench.sh --python}; BENCHMARKS.md, "Side by side with PEFT in Python"): every JVM
 * workload next to the Python reference doing the same work ({@link PythonReference}), at each thread count. The two
 * processes of a pair run back to back in every round, the order alternating from round to round, so a ratio
 * JVM / Python is taken per round and reported as the median with its spread, like every other ratio of
 * {@link BenchRunner}.
 *
 * <p>Workloads (4-layer MLP: {@code Linear(1024) -> ReLU -> ...}, batch 64; LoRA r=8, alpha=16 on the four Linear
 * layers): W1 the inference forward, unmerged and merged; W2 one training step (forward, L2 loss, backward, Adam),
 * LoRA and full fine-tuning; W3 PEFT's tiny test {@code DummyModel} forward with and without the golden case's LoRA.
 */
final class SideBySide {

    /** One workload at one thread count: JVM case id, Python case id, optional goal on JVM / Python. */
    record Pair(String workload, String what, int threads, String jvm, String python, double maxRatio, String goal) {}

    /** A ratio within each side (e.g. LoRA step / full step), with an optional goal on the JVM's. */
    record Within(String what, int threads, String jvmSubject, String jvmBaseline, String pySubject,
            String pyBaseline, double maxRatio, String goal) {}

    private final BenchRunner runner;
    private final List<Integer> threads;
    private final List<Pair> pairs = new ArrayList<>();
    private final List<Within> within = new ArrayList<>();
    private final Map<String, String> settings = new LinkedHashMap<>();

    /** Registers the cases (pairs adjacent, so they run back to back) with {@code runner}. */
    SideBySide(BenchRunner runner, List<Integer> threads) {
        this.runner = runner;
        this.threads = threads;
        for (int t : threads) {
            pair("W1", "forward, LoRA r=8 unmerged", t, MlpLoraApi.class, "forward", 1, "w1-unmerged", Double.NaN,
                    "–");
            pair("W1", "forward, LoRA merged", t, MlpMergedApi.class, "forward", 1, "w1-merged", Double.NaN, "–");
            pair("W2", "training step, LoRA r=8", t, TrainLoraApi.class, "step", 4, "w2-lora", 1.0, "≤ 1.00×");
            pair("W2", "training step, full fine-tuning", t, TrainFull.class, "step", 4, "w2-full", Double.NaN, "–");
            pair("W3", "DummyModel forward, LoRA r=64 on `linear`", t, DummyLoraApi.class, "forward", 4, "w3-lora",
                    0.6, "≤ 0.60×");
            pair("W3", "DummyModel forward, no adapter", t, DummyPlain.class, "forward", 4, "w3-base", Double.NaN,
                    "–");
            within.add(new Within("W2 LoRA step / full fine-tuning step", t, jvmId(TrainLoraApi.class, t),
                    jvmId(TrainFull.class, t), pyId("w2-lora", t), pyId("w2-full", t), 0.30, "≤ 0.30×"));
            within.add(new Within("W1 unmerged / merged forward", t, jvmId(MlpLoraApi.class, t),
                    jvmId(MlpMergedApi.class, t), pyId("w1-unmerged", t), pyId("w1-merged", t), Double.NaN, "–"));
            within.add(new Within("W3 LoRA / no adapter", t, jvmId(DummyLoraApi.class, t), jvmId(DummyPlain.class, t),
                    pyId("w3-lora", t), pyId("w3-base", t), Double.NaN, "–"));
        }
    }

    private void pair(String workload, String what, int t, Class<?> type, String method, int warmup,
            String pyCase, double maxRatio, String goal) {
        boolean mlp = !type.getSimpleName().startsWith("Dummy");
        String jvm = jvmId(type, t);
        runner.add(new BenchRunner.Case(jvm, type, method, mlp ? Map.of("width", "1024") : Map.of(), warmup, t,
                null));
        runner.add(BenchRunner.Case.python(pyId(pyCase, t), pyCase, t, warmup));
        pairs.add(new Pair(workload, what, t, jvm, pyId(pyCase, t), maxRatio, goal));
    }

    private static String jvmId(Class<?> type, int t) {
        return type.getSimpleName() + (type.getSimpleName().startsWith("Dummy") ? "" : "/w1024") + "/t" + t;
    }

    private static String pyId(String pyCase, int t) {
        return "py/" + pyCase + "/t" + t;
    }

    /**
     * Before the rounds: each side's engine, BLAS and thread settings at every thread count, and the check that the
     * Python reference reproduces PEFT's golden output. Fails early when Python or torch is missing.
     */
    void settings(PythonReference py, IntFunction<ChildJvm> jvmWithThreads, Path logs) {
        Path golden = Path.of("core", "src", "test", "resources", "golden");
        settings.put("python.verify", Files.isDirectory(golden.resolve("a_lora_dummy"))
                ? py.verify(golden, logs.resolve("py-verify.log")) : "not checked (" + golden + " missing)");
        for (int t : threads) {
            Map<String, String> info = py.info(t, logs.resolve("py-info-t" + t + ".log"));
            info.forEach((k, v) -> settings.put("python.t" + t + "." + k, v));
            ChildJvm child = jvmWithThreads.apply(t);
            ChildJvm.Run run = ChildJvm.run(child.command(Jvm.PLAIN, EngineInfo.class.getName()), null,
                    logs.resolve("jvm-info-t" + t + ".err"));
            for (String line : run.lines()) {
                if (line.startsWith("VERSIONS ")) {
                    for (String kv : line.substring("VERSIONS ".length()).split(" ")) {
                        String[] p = kv.split("=", 2);
                        settings.put("jvm.t" + t + "." + p[0], p.length > 1 ? p[1] : "");
                    }
                }
            }
            System.out.printf(Locale.ROOT, "threads %d: JVM intra-op %s, inter-op %s, %s; Python torch %s, %s "
                    + "threads, inter-op %s, BLAS %s%n", t, jvm(t, "intraOpThreads"), jvm(t, "interOpThreads"),
                    jvm(t, "features"), python(t, "torch"), python(t, "threads"), python(t, "interop"),
                    python(t, "blas"));
            if (!python(t, "threads").equals(Integer.toString(t)) || !jvm(t, "intraOpThreads")
                    .equals(Integer.toString(t))) {
                throw new IllegalStateException("threads not pinned to " + t + ": JVM " + jvm(t, "intraOpThreads")
                        + ", Python " + python(t, "threads"));
            }
        }
        System.out.println("Python reference vs PEFT 0.20.0 golden output: " + settings.get("python.verify"));
    }

    /** Everything {@link #settings(PythonReference, IntFunction, Path)} found, for results.json. */
    Map<String, String> settings() {
        return settings;
    }

    private String jvm(int t, String key) {
        return settings.getOrDefault("jvm.t" + t + "." + key, "?");
    }

    private String python(int t, String key) {
        return settings.getOrDefault("python.t" + t + "." + key, "?");
    }

    /** Appends the settings table, the side-by-side table and the within-side ratios to {@code md}. */
    void report(StringBuilder md) {
        int t0 = threads.get(0);
        md.append("\n**Both sides** (same machine, same run, alternating)\n\n");
        md.append("| | JVM: peft4j | Python: PEFT-equivalent reference |\n|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| runtime | %s; DJL %s, libtorch %s | %s, torch %s |%n",
                System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                jvm(t0, "djl"), jvm(t0, "pytorch"), python(t0, "python").replace("-", " "), python(t0, "torch")));
        md.append(String.format(Locale.ROOT, "| GEMM / BLAS | libtorch's own (features %s; mapped: %s) | %s "
                + "(torch BLAS_INFO=%s, MKL %s, mkldnn %s; mapped: %s) |%n", jvm(t0, "features"),
                jvm(t0, "nativeLibs"), python(t0, "blas"), python(t0, "blas_info"), python(t0, "mkl"),
                python(t0, "mkldnn"), shortLibs(python(t0, "libs"))));
        for (int t : threads) {
            md.append(String.format(Locale.ROOT, "| threads, run %d | intra-op %s, inter-op %s "
                    + "(`-Dai.djl.pytorch.num_threads=%d`, `num_interop_threads=1`) | intra-op %s, inter-op %s "
                    + "(`torch.set_num_threads(%d)`, OMP_NUM_THREADS=%s) |%n", t, jvm(t, "intraOpThreads"),
                    jvm(t, "interOpThreads"), t, python(t, "threads"), python(t, "interop"), t,
                    python(t, "OMP_NUM_THREADS")));
        }
        md.append(String.format(Locale.ROOT, "| oneMKL code paths | %s | – (no oneMKL) |%n",
                BenchRunner.mklIntelPaths() ? "Intel's, on any CPU (`./bench.sh --mkl-intel-paths`: "
                        + "LD_PRELOAD of `java -jar peft4j-agent.jar mkl-library`, the library of"
                        + " `mklCodePaths=features`)" : "by CPU vendor (oneMKL's default)"));
        md.append(String.format(Locale.ROOT, "| OpenMP wait policy | %s (default) | %s |%n",
                System.getenv().getOrDefault("OMP_WAIT_POLICY", "unset"), python(t0, "OMP_WAIT_POLICY")));
        md.append("| inference | outside any `GradientCollector` (grad mode off) | `model.eval()`, "
                + "`torch.no_grad()` |\n");
        md.append("| training | DJL `Trainer`, `Adam` (lr 1e-4), `L2Loss`; LoRA via `Peft.injectAdapter` "
                + "| `torch.optim.Adam` (lr 1e-4), `0.5 * (y - p)^2` mean, `zero_grad(set_to_none=True)`; base "
                + "frozen as `mark_only_lora_as_trainable` |\n");
        md.append("| LoRA | peft4j (golden tests against PEFT 0.20.0) | PEFT 0.20 `lora.Linear.forward`, "
                + "copied; ").append(settings.getOrDefault("python.verify", "?")).append(" |\n");

        md.append("\nRatio = JVM / Python (below 1: the JVM is faster), median of the per-round ratios "
                + "[lowest – highest]; times are medians over rounds of each process's p50. Rounds in which other "
                + "processes used more than ").append(BenchRunner.CONTENDED)
                .append(" cores while either side ran are left out.\n\n");
        md.append("| | workload | threads | JVM | Python | JVM / Python [spread] | goal | met | Python page "
                + "faults / call |\n|---|---|---:|---:|---:|---|---|---|---:|\n");
        for (Pair p : pairs) {
            if (!runner.ran(p.jvm()) || !runner.ran(p.python())) {
                continue;
            }
            double ratio = BenchRunner.median(runner.ratios(p.jvm(), p.python()));
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %s | %s | %.0f |%n", p.workload(),
                    p.what(), p.threads(), runner.time(p.jvm()), runner.time(p.python()),
                    runner.ratioText(p.jvm(), p.python()), p.goal(), met(ratio, p.maxRatio()),
                    BenchRunner.median(runner.faults(p.python()))));
        }
        md.append("\n**Within each side** (same rounds; the goal applies to the JVM)\n\n");
        md.append("| ratio | threads | JVM [spread] | Python [spread] | goal (JVM) | met |\n|---|---:|---|---|---|---|\n");
        for (Within w : within) {
            if (!runner.ran(w.jvmSubject()) || !runner.ran(w.jvmBaseline()) || !runner.ran(w.pySubject())
                    || !runner.ran(w.pyBaseline())) {
                continue;
            }
            double ratio = BenchRunner.median(runner.ratios(w.jvmSubject(), w.jvmBaseline()));
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s |%n", w.what(), w.threads(),
                    runner.ratioText(w.jvmSubject(), w.jvmBaseline()),
                    runner.ratioText(w.pySubject(), w.pyBaseline()), w.goal(), met(ratio, w.maxRatio())));
        }
    }

    private static String met(double ratio, double maxRatio) {
        return Double.isNaN(maxRatio) ? "–" : ratio <= maxRatio ? "yes" : "**no**";
    }

    private static String shortLibs(String libs) {
        return libs.replaceAll("/usr/lib/x86_64-linux-gnu/", "");
    }
}

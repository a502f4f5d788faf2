package io.peft4j.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.util.Statistics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Runs every benchmark of BENCHMARKS.md in one go and reports medians and ratios: {@code ./bench.sh} calls it.
 *
 * <p>Noise control on a small, shared machine: each JMH benchmark runs in its own fork(s) once per <em>round</em>;
 * rounds alternate the order (forward, reversed, forward, ...) and the two sides of every comparison run back to back,
 * so drift of the machine affects both sides alike. A side's time is the median over rounds of its per-fork median
 * (JMH sample-time mode, p50); a ratio is the median over rounds of the per-round ratio subject / baseline, with
 * the smallest and largest per-round ratio shown as its spread. Start-up is measured by {@link #startup} (plain, agent
 * and Java-API JVMs launched alternately) and optimizer state by {@link TrainStateProbe}.
 *
 * <p>Other processes on the machine (a build next door) are watched with {@link LoadMonitor}: before each case the
 * runner waits up to {@code --quiet-wait} seconds for them to use less than {@link #CONTENDED} cores; a case run
 * that was contended anyway is repeated once (the less contended run is kept), and the report leaves contended
 * rounds out of the ratios. Waiting and repeating stop when the whole run would exceed {@code --budget} minutes.
 *
 * <p>Options: {@code --rounds N} (5), {@code --threads N} (PyTorch intra-op threads of every fork, 1),
 * {@code --startup-runs N} (10 per variant), {@code --quick} (1 round, 1+2 iterations, no waiting or repeating: a
 * smoke test, not a measurement), {@code --only REGEX} (cases whose id matches), {@code --skip-startup},
 * {@code --out DIR}, {@code --quiet-wait SECONDS} (20), {@code --budget MINUTES} (19, the build not included).
 *
 * <p>{@code --python} runs the side-by-side comparison instead ({@link SideBySide}): each workload in a JVM next to
 * the Python reference ({@link PythonReference}, {@code --python-exe PATH}, default {@code /usr/bin/python3}) in
 * the same rounds, at each of {@code --threads N,N} (default 1,2); budget 15 minutes; {@code --quick} measures
 * 1 x 1 s per process.
 */
public final class BenchRunner {

    /**
     * One JMH benchmark with fixed parameters. {@code warmup}: 1-s warm-up iterations. Dispatch-bound cases (tens of
     * µs per call) need 4: the JIT reaches its steady state only after ~4 s there, and later in JVMs with peft4j (more
     * code on the path), so a short warm-up would bill peft4j for compilation. Where the native GEMMs dominate, 1 s
     * suffices and the time is better spent on more rounds.
     */
    record Case(String id, Class<?> type, String method, Map<String, String> params, int warmup, int threads,
            String python) {
        /** A JMH case run with the runner's {@code --threads}. */
        Case(String id, Class<?> type, String method, Map<String, String> params, int warmup) {
            this(id, type, method, params, warmup, 0, null);
        }

        /** A case of the Python reference ({@link PythonReference}): {@code python} names the script's case. */
        static Case python(String id, String pyCase, int threads, int warmup) {
            return new Case(id, null, null, Map.of(), warmup, threads, pyCase);
        }

        String benchmark() {
            return type.getName() + "." + method;
        }
    }

    /**
     * A comparison: subject vs baseline, with an optional goal {@code ratio <= maxRatio} (NaN: information only),
     * shown as {@code goal}.
     */
    record Row(String number, String what, Case subject, Case baseline, double maxRatio, String goal, String note) {}

    private final Map<String, Case> cases = new LinkedHashMap<>();
    private final List<Row> rows = new ArrayList<>();

    /** The cases and rows of BENCHMARKS.md's main table (everything but the side-by-side run). */
    private void overheadSuite() {
        // Order matters: the two sides of each comparison are neighbours (see the class comment).
        for (String w : List.of("64", "1024")) {
            mlpCase(MlpPlain.class, w);
            mlpCase(MlpAgentUntargeted.class, w);
            mlpCase(MlpMergedApi.class, w);
            if (w.equals("64")) {
                mlpCase(MlpMergedApiEarly.class, w);
            }
            mlpCase(MlpMergedAgent.class, w);
            mlpCase(MlpLoraHand.class, w);
            mlpCase(MlpLoraApi.class, w);
            mlpCase(MlpLoraAgent.class, w);
        }
        for (String w : List.of("256", "1024", "4096")) {
            int warmup = w.equals("256") ? 4 : 1;
            add(new Case("LinearPlain/w" + w, LinearPlain.class, "forward", Map.of("width", w), warmup));
            for (String r : List.of("1", "8", "64")) {
                add(new Case("LinearLoraApi/w" + w + "/r" + r, LinearLoraApi.class, "forward",
                        Map.of("width", w, "rank", r), warmup));
            }
        }
        add(new Case("TrainFull/w1024", TrainFull.class, "step", Map.of("width", "1024"), 1));
        add(new Case("TrainLoraApi/w1024", TrainLoraApi.class, "step", Map.of("width", "1024"), 1));

        for (String w : List.of("64", "1024")) {
            row("1", "agent loaded, adapter targets nothing in the model vs no agent (MLP w" + w + ")",
                    "MlpAgentUntargeted/w" + w, "MlpPlain/w" + w, 0.01, "");
        }
        for (String w : List.of("64", "1024")) {
            row("2", "LoRA r=8 x4 via Java API vs same LoRA hand-written as DJL blocks (MLP w" + w + ")",
                    "MlpLoraApi/w" + w, "MlpLoraHand/w" + w, 0.02, "");
            row("2", "LoRA r=8 x4 via agent vs same LoRA hand-written as DJL blocks (MLP w" + w + ")",
                    "MlpLoraAgent/w" + w, "MlpLoraHand/w" + w, 0.02, "");
        }
        row("3", "unmerged LoRA r=8 vs base layer, Linear(1024,1024) batch 64",
                "LinearLoraApi/w1024/r8", "LinearPlain/w1024", 0.05, "arithmetic alone adds 1.6%");
        for (String w : List.of("64", "1024")) {
            row("4", "merged LoRA (Java API) vs base model, no peft4j (MLP w" + w + ")",
                    "MlpMergedApi/w" + w, "MlpPlain/w" + w, 0.01, "");
            if (w.equals("64")) {
                row("4", "merged LoRA (Java API, instrumentation installed before DJL is used) vs base model, "
                        + "no peft4j (MLP w64)", "MlpMergedApiEarly/w64", "MlpPlain/w64", 0.01, "");
            }
            row("4", "merged LoRA (agent, merge=true) vs base model, no peft4j (MLP w" + w + ")",
                    "MlpMergedAgent/w" + w, "MlpPlain/w" + w, 0.01, "");
        }
        for (String w : List.of("64", "1024")) {
            row("i", "unmerged LoRA r=8 x4 (Java API) vs base model, no peft4j (MLP w" + w + ")",
                    "MlpLoraApi/w" + w, "MlpPlain/w" + w, Double.NaN, "total cost of serving unmerged");
        }
        row("5", "training step, LoRA r=8 x4 vs full fine-tuning (MLP w1024, Adam)",
                "TrainLoraApi/w1024", "TrainFull/w1024", Double.NaN, "lower is better");
    }

    private void mlpCase(Class<?> type, String width) {
        add(new Case(type.getSimpleName() + "/w" + width, type, "forward", Map.of("width", width),
                width.equals("64") ? 4 : 1));
    }

    void add(Case c) {
        cases.put(c.id(), c);
    }

    /** A row whose goal bounds the overhead: {@code goal} is a fraction (0.01: at most 1% slower), NaN: none. */
    private void row(String number, String what, String subject, String baseline, double goal, String note) {
        row(number, what, subject, baseline, 1 + goal,
                Double.isNaN(goal) ? "–" : String.format(Locale.ROOT, "≤ +%.0f%%", goal * 100), note);
    }

    void row(String number, String what, String subject, String baseline, double maxRatio, String goal,
            String note) {
        rows.add(new Row(number, what, cases.get(subject), cases.get(baseline), maxRatio, goal, note));
    }

    private int rounds = 5;
    private int threads = 1;
    /** {@code --threads} as given: one count, or a comma-separated list for the side-by-side run (default 1,2). */
    private List<Integer> threadCounts;
    private int startupRuns = 10;
    private int quietWait = 20;
    private double budgetMinutes = Double.NaN;
    /** The side-by-side run against the Python reference ({@code --python}) instead of the overhead suite. */
    private SideBySide sideBySide;
    private boolean python;
    private String pythonExe = PythonReference.DEFAULT_EXE;
    private double caseSeconds;
    private int caseRuns;
    private int retries;
    private int quietWaitSeconds;
    private Instant runBegin = Instant.now();
    private boolean quick;
    private boolean skipStartup;
    private Pattern only;
    private Path out = Path.of("benchmarks", "target", "bench-results");

    /** Other processes using more than this many cores during a run make it "contended". */
    static final double CONTENDED = 0.25;

    /** Per case: the p50 (µs) of each round, NaN where it did not run. */
    private final Map<String, double[]> p50 = new LinkedHashMap<>();
    /** Per Python case: minor page faults per call in each round. */
    private final Map<String, double[]> faults = new LinkedHashMap<>();
    /** Per case: cores used by other processes during each round's run ({@link LoadMonitor}). */
    private final Map<String, double[]> otherLoad = new LinkedHashMap<>();
    private final Map<String, List<Double>> startupOther = new LinkedHashMap<>();
    private final LoadMonitor monitor = new LoadMonitor();
    private final Map<String, long[]> samples = new LinkedHashMap<>();
    private final Map<String, List<Double>> startupMs = new LinkedHashMap<>();
    private final Map<String, String> probe = new LinkedHashMap<>();
    private final Map<String, String> machine = new LinkedHashMap<>();

    public static void main(String[] args) throws Exception {
        BenchRunner runner = new BenchRunner();
        runner.parse(args);
        runner.run();
    }

    private void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--threads" -> threadCounts = threadList(args[++i]);
                case "--python" -> python = true;
                case "--python-exe" -> pythonExe = args[++i];
                case "--startup-runs" -> startupRuns = Integer.parseInt(args[++i]);
                case "--quick" -> quick = true;
                case "--skip-startup" -> skipStartup = true;
                case "--only" -> only = Pattern.compile(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--quiet-wait" -> quietWait = Integer.parseInt(args[++i]);
                case "--budget" -> budgetMinutes = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--rounds N --threads N[,N...] --python --python-exe PATH --startup-runs N --quick"
                        + " --skip-startup --only REGEX --out DIR --quiet-wait SECONDS --budget MINUTES)");
            }
        }
        if (quick) {
            rounds = 1;
            startupRuns = Math.min(startupRuns, 2);
            quietWait = 0;
        }
        if (python) {
            sideBySide = new SideBySide(this, threadCounts == null ? List.of(1, 2) : threadCounts);
            budgetMinutes = Double.isNaN(budgetMinutes) ? 15 : budgetMinutes;
            skipStartup = true;
        } else {
            if (threadCounts != null && threadCounts.size() != 1) {
                throw new IllegalArgumentException("--threads takes one count except with --python: " + threadCounts);
            }
            threads = threadCounts == null ? 1 : threadCounts.get(0);
            budgetMinutes = Double.isNaN(budgetMinutes) ? 19 : budgetMinutes;
            overheadSuite();
        }
    }

    private static List<Integer> threadList(String value) {
        List<Integer> list = new ArrayList<>();
        for (String t : value.split(",")) {
            int n = Integer.parseInt(t.trim());
            if (n < 1) {
                throw new IllegalArgumentException("--threads: counts must be at least 1: " + value);
            }
            list.add(n);
        }
        return List.copyOf(list);
    }

    /** PyTorch thread options of a JMH fork or child JVM: the case's count, else {@code --threads}. */
    private List<String> forkArgs(int caseThreads) {
        int n = caseThreads > 0 ? caseThreads : threads;
        return List.of("-Dai.djl.pytorch.num_threads=" + n, "-Dai.djl.pytorch.num_interop_threads=1");
    }

    private void run() throws Exception {
        for (String required : List.of(Setups.AGENT_JAR, Setups.API_JVM, "benchmarks/target/peft4j-core-lib")) {
            if (!Files.exists(Path.of(required))) {
                throw new IllegalStateException(required + " not found: run from the repository root after "
                        + "building (./bench.sh does both)");
            }
        }
        Files.createDirectories(out.resolve("logs"));
        Instant begin = Instant.now();
        runBegin = begin;
        PythonReference py = null;
        if (sideBySide != null) {
            py = new PythonReference(pythonExe);
            sideBySide.settings(py, t -> new ChildJvm(javaCommand(), benchJar(),
                    concat(List.of(Setups.OFFLINE, Setups.QUIET), forkArgs(t))), out.resolve("logs"));
        }
        List<Case> selected = new ArrayList<>();
        for (Case c : cases.values()) {
            if (only == null || only.matcher(c.id()).find()) {
                selected.add(c);
                p50.put(c.id(), filled(rounds));
                otherLoad.put(c.id(), filled(rounds));
                samples.put(c.id(), new long[rounds]);
                if (c.python() != null) {
                    faults.put(c.id(), filled(rounds));
                }
            }
        }
        int total = selected.size() * rounds;
        int done = 0;
        for (int round = 0; round < rounds; round++) {
            List<Case> order = new ArrayList<>(selected);
            if (round % 2 == 1) {
                Collections.reverse(order);
            }
            for (Case c : order) {
                done++;
                for (int attempt = 0; ; attempt++) {
                    waitForQuiet(begin, total - done);
                    long t0 = System.nanoTime();
                    monitor.start();
                    PythonReference.Measured m = c.python() != null ? python(py, c, round) : jmh(c, round);
                    double other = monitor.otherCores();
                    caseSeconds += (System.nanoTime() - t0) / 1e9;
                    caseRuns++;
                    double previous = otherLoad.get(c.id())[round];
                    boolean keep = attempt == 0 || !(other >= previous);
                    if (keep) {
                        otherLoad.get(c.id())[round] = other;
                        p50.get(c.id())[round] = m.p50();
                        samples.get(c.id())[round] = m.samples();
                        if (c.python() != null) {
                            faults.get(c.id())[round] = m.faultsPerCall();
                        }
                    }
                    System.out.printf(Locale.ROOT, "[round %d/%d, %3d/%d] %-28s p50 %10.1f us  (%d samples, %.0f s, "
                            + "other processes %.2f cores%s; %s elapsed)%n", round + 1, rounds, done, total, c.id(),
                            m.p50(), m.samples(), (System.nanoTime() - t0) / 1e9, other,
                            attempt == 0 ? "" : keep ? ", retry kept" : ", retry dropped", elapsed(begin));
                    if (!(other > CONTENDED) || attempt >= 1 || quick || !withinBudget(begin, total - done + 1)) {
                        break;
                    }
                    retries++;
                }
            }
        }
        ChildJvm child = new ChildJvm(javaCommand(), benchJar(),
                concat(List.of(Setups.OFFLINE, Setups.QUIET), forkArgs(0)));
        if (sideBySide == null) {
            probe(child);
        }
        if (!skipStartup) {
            startup(child);
        }
        machine(child);
        String report = report(Duration.between(begin, Instant.now()));
        Files.writeString(out.resolve("results.md"), report);
        Files.writeString(out.resolve("results.json"), json());
        System.out.println();
        System.out.println(report);
        System.out.println("written: " + out.resolve("results.md") + ", " + out.resolve("results.json")
                + " (JMH logs and raw JSON under " + out.resolve("logs") + ")");
    }

    /**
     * Waits (at most {@code --quiet-wait} seconds, and only while the run stays within its budget) until other
     * processes use less than {@link #CONTENDED} cores over one second.
     */
    private void waitForQuiet(Instant begin, int casesLeft) throws InterruptedException {
        long deadline = System.nanoTime() + quietWait * 1_000_000_000L;
        LoadMonitor probe = new LoadMonitor();
        while (System.nanoTime() < deadline && withinBudget(begin, casesLeft)) {
            probe.start();
            Thread.sleep(1000);
            if (!(probe.otherCores() > CONTENDED)) {
                return;
            }
            quietWaitSeconds++;
        }
    }

    /** Whether {@code casesLeft} more case runs (at the average time so far) and start-up still fit the budget. */
    private boolean withinBudget(Instant begin, int casesLeft) {
        double avg = caseRuns == 0 ? 10 : caseSeconds / caseRuns;
        double startup = skipStartup ? 0 : startupRuns * 3 * 1.5 + 20;
        double projected = Duration.between(begin, Instant.now()).toSeconds() + casesLeft * avg + startup;
        return projected < budgetMinutes * 60;
    }

    /** One fork of a JMH case: its p50 and sample count. */
    private PythonReference.Measured jmh(Case c, int round) throws RunnerException {
        String stem = c.id().replace('/', '_') + "_r" + (round + 1);
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include("^" + Pattern.quote(c.benchmark()) + "$")
                .forks(1)
                .jvmArgsPrepend(forkArgs(c.threads()).toArray(new String[0]))
                .shouldFailOnError(true)
                .output(out.resolve("logs").resolve(stem + ".log").toString())
                .result(out.resolve("logs").resolve(stem + ".json").toString())
                .resultFormat(ResultFormatType.JSON);
        c.params().forEach(options::param);
        options.warmupIterations(quick ? 1 : c.warmup()).measurementIterations(measuredIterations());
        Collection<RunResult> results;
        try {
            results = new Runner(options.build()).run();
        } catch (RunnerException e) {
            throw new RunnerException("benchmark " + c.id() + " failed; see " + out.resolve("logs")
                    .resolve(stem + ".log"), e);
        }
        if (results.size() != 1) {
            throw new IllegalStateException(c.id() + ": expected one result, got " + results.size() + "; see "
                    + out.resolve("logs").resolve(stem + ".log"));
        }
        Statistics s = results.iterator().next().getPrimaryResult().getStatistics();
        return new PythonReference.Measured(s.getPercentile(50), s.getN(), s.getMean(), Double.NaN);
    }

    /** One run of a Python case, like one JMH fork: same warm-up and measured time as the JVM side. */
    private PythonReference.Measured python(PythonReference py, Case c, int round) {
        Path log = out.resolve("logs").resolve(c.id().replace('/', '_') + "_r" + (round + 1) + ".log");
        return py.run(c.python(), c.threads(), quick ? 0.5 : c.warmup(), measuredIterations(), log);
    }

    /** 1-s measured iterations per fork or Python process: 3; a quick run 2 (the side-by-side one 1). */
    private int measuredIterations() {
        return !quick ? 3 : sideBySide != null ? 1 : 2;
    }

    /** JVM start to the end of the first (adapted) forward pass, plain / agent / Java API, launched alternately. */
    private void startup(ChildJvm child) throws InterruptedException {
        Map<String, Jvm> variants = new LinkedHashMap<>();
        variants.put("plain", Jvm.PLAIN);
        variants.put("agent", Jvm.AGENT);
        variants.put("api", Jvm.API);
        variants.keySet().forEach(v -> startupMs.put(v, new ArrayList<>()));
        variants.keySet().forEach(v -> startupOther.put(v, new ArrayList<>()));
        List<String> names = new ArrayList<>(variants.keySet());
        // One unrecorded run of each first: page cache, DJL's native library check.
        for (String v : names) {
            ChildJvm.run(child.command(variants.get(v), FirstForwardApp.class.getName(), v), FirstForwardApp.MARK,
                    out.resolve("logs").resolve("startup-" + v + ".err"));
        }
        for (int i = 0; i < startupRuns; i++) {
            waitForQuiet(runBegin, 0);
            List<String> order = new ArrayList<>(names);
            Collections.rotate(order, i);
            for (String v : order) {
                monitor.start();
                ChildJvm.Run r = ChildJvm.run(child.command(variants.get(v), FirstForwardApp.class.getName(), v),
                        FirstForwardApp.MARK, out.resolve("logs").resolve("startup-" + v + ".err"));
                startupOther.get(v).add(monitor.otherCores());
                if (r.markNanos() < 0 || !r.lines().contains("CHECK_OK")) {
                    throw new IllegalStateException("start-up run '" + v + "' did not pass its checks: " + r.lines());
                }
                startupMs.get(v).add(r.markNanos() / 1e6);
            }
            System.out.printf(Locale.ROOT, "[start-up %d/%d] plain %.0f ms, agent %.0f ms, api %.0f ms%n", i + 1,
                    startupRuns, last(startupMs.get("plain")), last(startupMs.get("agent")),
                    last(startupMs.get("api")));
        }
    }

    private void probe(ChildJvm child) {
        for (String mode : List.of("full", "lora")) {
            ChildJvm.Run r = ChildJvm.run(child.command(mode.equals("lora") ? Jvm.API : Jvm.PLAIN,
                    TrainStateProbe.class.getName(), mode), null, out.resolve("logs").resolve("probe-" + mode + ".err"));
            for (String line : r.lines()) {
                if (line.startsWith("TRAIN_STATE ") || line.startsWith("VERSIONS ")) {
                    for (String kv : line.substring(line.indexOf(' ') + 1).split(" ")) {
                        String[] p = kv.split("=", 2);
                        probe.put((line.startsWith("VERSIONS") ? "" : mode + ".") + p[0], p[1]);
                    }
                }
            }
        }
    }

    /** Whether the benchmark JVMs run with oneMKL's Intel code paths ({@code ./bench.sh --mkl-intel-paths}). */
    static boolean mklIntelPaths() {
        return System.getenv().getOrDefault("LD_PRELOAD", "").contains("libpeft4j-mkl-intel-paths.so");
    }

    private void machine(ChildJvm child) {
        machine.put("cpu", firstMatch(Path.of("/proc/cpuinfo"), "model name\\s*:\\s*(.*)", "?"));
        machine.put("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        String mem = firstMatch(Path.of("/proc/meminfo"), "MemTotal:\\s*(\\d+) kB", "0");
        machine.put("memory", String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(mem) / 1024.0 / 1024.0));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        machine.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        if (mklIntelPaths()) {
            machine.put("oneMKL", "Intel's code paths on any CPU in every benchmark JVM (--mkl-intel-paths)");
        }
        if (sideBySide != null) {
            machine.put("runs", "1 process per case per round, " + rounds + " round(s), order alternating; JVM: JMH "
                    + "SampleTime, p50 per fork; Python: every call timed, p50 per process; both "
                    + (quick ? "1 s warm-up (Python 0.5 s), 1 x 1 s measured"
                            : "4 s warm-up for W2 and W3 (JIT and native memory settle), 1 s for W1, "
                                    + "3 x 1 s measured"));
            machine.put("contention", "waited " + quietWaitSeconds + " s in total for other processes to quiet down "
                    + "(at most " + quietWait + " s per case); " + retries + " contended case run(s) repeated once");
            return;
        }
        machine.put("djl", probe.getOrDefault("djl", "?"));
        machine.put("pytorch", probe.getOrDefault("pytorch", "?"));
        machine.put("threads", "intra-op " + probe.getOrDefault("intraOpThreads", "?") + ", inter-op "
                + probe.getOrDefault("interOpThreads", "?") + " (-Dai.djl.pytorch.num_threads=" + threads
                + ", every fork); OMP_WAIT_POLICY " + System.getenv().getOrDefault("OMP_WAIT_POLICY", "unset")
                + ", OMP_NUM_THREADS " + System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        machine.put("jmh", "SampleTime (p50 per fork), 1 fork per case per round, " + rounds + " round(s); "
                + (quick ? "1 + 2 x 1 s warm-up + measurement iterations"
                        : "warm-up 4 x 1 s for the dispatch-bound cases (MLP w64, Linear w256), 1 x 1 s for the rest,"
                        + " then 3 x 1 s measured"));
        machine.put("contention", "waited " + quietWaitSeconds + " s in total for other processes to quiet down "
                + "(at most " + quietWait + " s per case); " + retries + " contended case run(s) repeated once");
    }

    // ---------------------------------------------------------------------------------------------------- report

    private String report(Duration took) {
        StringBuilder md = new StringBuilder();
        md.append("Run of ").append(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")))
                .append(", ").append(took.toMinutes()).append(" min ").append(took.toSecondsPart()).append(" s")
                .append(quick ? " (QUICK: smoke test, not a measurement)" : "").append("\n\n");
        machine.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        if (sideBySide != null) {
            sideBySide.report(md);
            return md.toString();
        }
        md.append("\nTimes are medians (µs per call unless stated); ratio = subject / baseline, median of the ")
                .append(rounds).append(" per-round ratios [lowest – highest]. A round in which other processes used more ")
                .append("than ").append(CONTENDED).append(" cores while either side ran is left out, unless every ")
                .append("round was.\n\n");
        md.append("| # | measure | subject | baseline | ratio [spread] | goal | met |\n");
        md.append("|---|---|---:|---:|---|---|---|\n");
        for (Row r : rows) {
            if (r.subject() == null || r.baseline() == null || !p50.containsKey(r.subject().id())
                    || !p50.containsKey(r.baseline().id())) {
                continue;
            }
            double[] ratios = ratios(r.subject().id(), r.baseline().id());
            double ratio = median(ratios);
            String goal = r.goal();
            String met = Double.isNaN(r.maxRatio()) ? "–" : (ratio <= r.maxRatio() ? "yes" : "**no**");
            md.append(String.format(Locale.ROOT, "| %s | %s%s | %s | %s | %s | %s | %s |%n", r.number(), r.what(),
                    r.note().isEmpty() ? "" : " (" + r.note() + ")", time(r.subject().id()),
                    time(r.baseline().id()), ratioText(r.subject().id(), r.baseline().id()), goal, met));
        }
        sweep(md);
        training(md);
        startupTable(md);
        return md.toString();
    }

    private void sweep(StringBuilder md) {
        if (!p50.containsKey("LinearPlain/w1024")) {
            return;
        }
        md.append("\n**LoRA cost by rank and width** (one unmerged adapter on Linear(w, w), batch 64, Java API; ")
                .append("ratio vs the plain layer in a JVM without peft4j; FLOPs: extra arithmetic r(2w)/w² = 2r/w)\n\n");
        md.append("| width | base | r=1 | r=8 | r=64 |\n|---:|---:|---|---|---|\n");
        for (String w : List.of("256", "1024", "4096")) {
            String base = "LinearPlain/w" + w;
            if (!p50.containsKey(base)) {
                continue;
            }
            md.append("| ").append(w).append(" | ").append(time(base));
            for (String r : List.of("1", "8", "64")) {
                String id = "LinearLoraApi/w" + w + "/r" + r;
                if (!p50.containsKey(id)) {
                    md.append(" | –");
                    continue;
                }
                double flops = 2.0 * Integer.parseInt(r) / Integer.parseInt(w);
                md.append(String.format(Locale.ROOT, " | %s, %s (FLOPs +%.1f%%)", time(id),
                        ratioText(id, base), flops * 100));
            }
            md.append(" |\n");
        }
    }

    private void training(StringBuilder md) {
        if (probe.isEmpty()) {
            return;
        }
        md.append("\n**Training state** (4-layer MLP w1024, Adam; computed: 2 moments x 4 bytes x trainable "
                + "parameters; measured: the arrays in DJL's Adam after two steps)\n\n");
        md.append("| | trainable params | all params | Adam state computed | Adam state measured | step time |\n");
        md.append("|---|---:|---:|---:|---:|---:|\n");
        for (String mode : List.of("full", "lora")) {
            long trainable = Long.parseLong(probe.getOrDefault(mode + ".trainable", "0"));
            long all = Long.parseLong(probe.getOrDefault(mode + ".all", "0"));
            long measured = Long.parseLong(probe.getOrDefault(mode + ".adamBytes", "0"));
            String id = mode.equals("full") ? "TrainFull/w1024" : "TrainLoraApi/w1024";
            md.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %s | %s (%s tensors) | %s |%n",
                    mode.equals("full") ? "full fine-tuning" : "LoRA r=8 x4", trainable, all,
                    bytes(2L * 4 * trainable), bytes(measured), probe.getOrDefault(mode + ".adamEntries", "?"),
                    p50.containsKey(id) ? time(id) : "–"));
        }
    }

    private void startupTable(StringBuilder md) {
        if (startupMs.isEmpty()) {
            return;
        }
        double plain = median(startupMs.get("plain"));
        md.append("\n**Start-up to the first forward pass** (4-layer MLP w1024, batch 64; wall time from process "
                + "start to the line printed after the pass; " + startupRuns
                + " runs per variant, launched alternately; medians. libtorch's native load alone varies by ~300 ms"
                + " from launch to launch here, so the paired column, the median of each round's difference to that"
                + " round's plain run, is the one to compare)\n\n");
        md.append("| variant | median | min – max | vs plain (medians) | vs plain (paired) | other processes"
                        + " (median cores) |\n")
                .append("|---|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, List<Double>> e : startupMs.entrySet()) {
            double m = median(e.getValue());
            String label = switch (e.getKey()) {
                case "plain" -> "no peft4j (unadapted forward)";
                case "agent" -> "-javaagent, LoRA injected at the first forward";
                default -> "Java API (Peft.injectAdapter, self-attach)";
            };
            List<Double> paired = new ArrayList<>();
            for (int i = 0; i < e.getValue().size(); i++) {
                paired.add(e.getValue().get(i) - startupMs.get("plain").get(i));
            }
            boolean base = e.getKey().equals("plain");
            md.append(String.format(Locale.ROOT, "| %s | %.0f ms | %.0f – %.0f ms | %s | %s | %.2f |%n", label, m,
                    Collections.min(e.getValue()), Collections.max(e.getValue()),
                    base ? "–" : String.format(Locale.ROOT, "%+.0f ms (x%.2f)", m - plain, m / plain),
                    base ? "–" : String.format(Locale.ROOT, "%+.0f ms [%+.0f – %+.0f]", median(paired),
                            Collections.min(paired), Collections.max(paired)),
                    median(startupOther.get(e.getKey()))));
        }
    }

    /**
     * Per-round ratios subject / baseline. Rounds in which either side ran contended ({@link #CONTENDED}) are left
     * out (NaN) unless every round was contended.
     */
    double[] ratios(String subject, String baseline) {
        double[] s = p50.get(subject);
        double[] b = p50.get(baseline);
        double[] r = new double[rounds];
        boolean anyClean = false;
        for (int i = 0; i < rounds; i++) {
            r[i] = s[i] / b[i];
            anyClean |= clean(subject, i) && clean(baseline, i);
        }
        if (anyClean) {
            for (int i = 0; i < rounds; i++) {
                if (!(clean(subject, i) && clean(baseline, i))) {
                    r[i] = Double.NaN;
                }
            }
        }
        return r;
    }

    private boolean clean(String id, int round) {
        double load = otherLoad.get(id)[round];
        return !(load > CONTENDED);
    }

    /** The median p50 of a case over its uncontended rounds (all rounds if none was). */
    String time(String id) {
        double[] values = p50.get(id).clone();
        boolean anyClean = false;
        for (int i = 0; i < rounds; i++) {
            anyClean |= clean(id, i);
        }
        for (int i = 0; anyClean && i < rounds; i++) {
            if (!clean(id, i)) {
                values[i] = Double.NaN;
            }
        }
        double us = median(values);
        return us >= 10_000 ? String.format(Locale.ROOT, "%.2f ms", us / 1000)
                : String.format(Locale.ROOT, "%.1f µs", us);
    }

    String ratioText(String subject, String baseline) {
        double[] ratios = ratios(subject, baseline);
        double ratio = median(ratios);
        double[] used = Arrays.stream(ratios).filter(d -> !Double.isNaN(d)).toArray();
        double lo = Arrays.stream(used).min().orElse(Double.NaN);
        double hi = Arrays.stream(used).max().orElse(Double.NaN);
        String text = used.length == 1 ? String.format(Locale.ROOT, "%.3f (%+.1f%%)", ratio, (ratio - 1) * 100)
                : String.format(Locale.ROOT, "%.3f (%+.1f%%) [%.3f – %.3f]", ratio, (ratio - 1) * 100, lo, hi);
        boolean allContended = true;
        for (int i = 0; i < rounds; i++) {
            allContended &= !(clean(subject, i) && clean(baseline, i));
        }
        if (allContended) {
            text += " (every round contended)";
        } else if (used.length < rounds) {
            text += String.format(Locale.ROOT, " (%d of %d rounds; others contended)", used.length, rounds);
        }
        return text;
    }

    private String json() {
        StringBuilder j = new StringBuilder("{\n  \"machine\": {");
        j.append(String.join(",", machine.entrySet().stream()
                .map(e -> "\n    \"" + e.getKey() + "\": \"" + esc(e.getValue()) + "\"").toList()));
        j.append("\n  },\n  \"p50_us_per_round\": {");
        j.append(String.join(",", p50.entrySet().stream().map(e -> "\n    \"" + e.getKey() + "\": "
                + Arrays.toString(e.getValue()).replace("NaN", "null")).toList()));
        j.append("\n  },\n  \"other_processes_cores_per_round\": {");
        j.append(String.join(",", otherLoad.entrySet().stream().map(e -> "\n    \"" + e.getKey() + "\": "
                + Arrays.toString(e.getValue()).replace("NaN", "null")).toList()));
        j.append("\n  },\n  \"python_minor_faults_per_call_per_round\": {");
        j.append(String.join(",", faults.entrySet().stream().map(e -> "\n    \"" + e.getKey() + "\": "
                + Arrays.toString(e.getValue()).replace("NaN", "null")).toList()));
        j.append("\n  },\n  \"side_by_side_settings\": {");
        if (sideBySide != null) {
            j.append(String.join(",", sideBySide.settings().entrySet().stream()
                    .map(e -> "\n    \"" + e.getKey() + "\": \"" + esc(e.getValue()) + "\"").toList()));
        }
        j.append("\n  },\n  \"samples_per_round\": {");
        j.append(String.join(",", samples.entrySet().stream()
                .map(e -> "\n    \"" + e.getKey() + "\": " + Arrays.toString(e.getValue())).toList()));
        j.append("\n  },\n  \"startup_ms\": {");
        j.append(String.join(",", startupMs.entrySet().stream()
                .map(e -> "\n    \"" + e.getKey() + "\": " + e.getValue()).toList()));
        j.append("\n  },\n  \"startup_other_processes_cores\": {");
        j.append(String.join(",", startupOther.entrySet().stream()
                .map(e -> "\n    \"" + e.getKey() + "\": " + e.getValue()).toList()));
        j.append("\n  },\n  \"train_probe\": {");
        j.append(String.join(",", probe.entrySet().stream()
                .map(e -> "\n    \"" + e.getKey() + "\": \"" + esc(e.getValue()) + "\"").toList()));
        return j.append("\n  }\n}\n").toString();
    }

    // ---------------------------------------------------------------------------------------------------- utils

    private static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** Per Python case, the minor page faults per call of each round (NaN where it did not run). */
    double[] faults(String id) {
        return faults.get(id);
    }

    /** Whether the case ran ({@code --only} may leave it out). */
    boolean ran(String id) {
        return p50.containsKey(id);
    }

    static double median(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double last(List<Double> values) {
        return values.get(values.size() - 1);
    }

    private static double[] filled(int n) {
        double[] a = new double[n];
        Arrays.fill(a, Double.NaN);
        return a;
    }

    private static String bytes(long b) {
        return b >= 1 << 20 ? String.format(Locale.ROOT, "%.2f MiB", b / 1048576.0)
                : String.format(Locale.ROOT, "%.0f KiB", b / 1024.0);
    }

    private static String elapsed(Instant begin) {
        Duration d = Duration.between(begin, Instant.now());
        return String.format(Locale.ROOT, "%d:%02d", d.toMinutes(), d.toSecondsPart());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String firstMatch(Path file, String regex, String fallback) {
        try {
            Pattern p = Pattern.compile(regex);
            for (String line : Files.readAllLines(file)) {
                var m = p.matcher(line);
                if (m.find()) {
                    return m.group(1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux: leave the fallback
        }
        return fallback;
    }

    private static String javaCommand() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Path benchJar() {
        try {
            return Path.of(BenchRunner.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}

package io.peft4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Python side of the side-by-side run: starts {@code benchmarks/python/peft_reference.py} (PEFT's LoRA in torch)
 * in a fresh process per case and round, like a JMH fork, with Debian's {@code /usr/bin/python3} (not a pyenv or
 * virtualenv interpreter that may lack torch) in isolated mode ({@code -s -E}: no user site, no PYTHON* variables).
 *
 * <p>Threads are pinned as on the JVM side: {@code torch.set_num_threads(N)}, one inter-op thread,
 * {@code OMP_NUM_THREADS=N}; and {@code OMP_WAIT_POLICY=PASSIVE}, which Debian's torch needs with OpenBLAS/OpenMP
 * (idle OpenMP threads otherwise spin and steal the core the next op runs on). The JVM forks keep the default
 * policy (MKL's threads are libtorch's own).
 */
final class PythonReference {

    /** The script, relative to the repository root. */
    static final String SCRIPT = "benchmarks/python/peft_reference.py";
    /** Debian's interpreter, the one {@code apt-get install python3-torch} serves. */
    static final String DEFAULT_EXE = "/usr/bin/python3";

    /** One Python measurement: median and mean µs per call, calls timed, minor page faults per call. */
    record Measured(double p50, long samples, double mean, double faultsPerCall) {}

    private final String exe;

    PythonReference(String exe) {
        this.exe = exe;
    }

    /** The interpreter. */
    String exe() {
        return exe;
    }

    /** Times {@code pyCase} ({@code w1-unmerged}, ...) at {@code threads}; the process's stderr goes to {@code log}. */
    Measured run(String pyCase, int threads, double warmupSeconds, int iterations, Path log) {
        Map<String, String> r = keyValues(exec(threads, log, pyCase, "--threads", Integer.toString(threads),
                "--warmup", Double.toString(warmupSeconds), "--iterations", Integer.toString(iterations)),
                "PY_RESULT ", log);
        if (Integer.parseInt(r.get("threads")) != threads) {
            throw new IllegalStateException("Python ran " + pyCase + " with " + r.get("threads") + " threads, not "
                    + threads + "; see " + log);
        }
        return new Measured(Double.parseDouble(r.get("p50_us")), Long.parseLong(r.get("samples")),
                Double.parseDouble(r.get("mean_us")), Double.parseDouble(r.get("minor_faults_per_call")));
    }

    /** Interpreter, torch version, threads and the BLAS actually loaded, at {@code threads}. */
    Map<String, String> info(int threads, Path log) {
        return keyValues(exec(threads, log, "info", "--threads", Integer.toString(threads)), "PY_INFO ", log);
    }

    /**
     * Checks the script's LoRA against PEFT 0.20.0's golden outputs ({@code a_lora_dummy}, active and merged);
     * returns the result line, throws when it differs.
     */
    String verify(Path golden, Path log) {
        List<String> lines = exec(1, log, "verify", golden.toString());
        String line = lines.stream().filter(l -> l.startsWith("PY_VERIFY ")).findFirst().orElse("(no result)");
        if (!line.contains("ok=true")) {
            throw new IllegalStateException("the Python reference does not reproduce PEFT's golden output: " + line);
        }
        return line;
    }

    private List<String> exec(int threads, Path log, String... args) {
        if (!Files.isExecutable(Path.of(exe))) {
            throw new IllegalStateException(exe + " not found: the side-by-side run needs Debian's python3 with "
                    + "python3-torch (./bench.sh --python installs it with apt-get)");
        }
        List<String> command = new ArrayList<>(List.of(exe, "-s", "-E", SCRIPT));
        command.addAll(List.of(args));
        try {
            // LD_PRELOAD empty: ./bench.sh --mkl-intel-paths preloads a library for the JVM side only
            return ChildJvm.run(command, null, log, Map.of("OMP_NUM_THREADS", Integer.toString(threads),
                    "OMP_WAIT_POLICY", "PASSIVE", "LD_PRELOAD", "")).lines();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the Python reference failed (is python3-torch installed for " + exe
                    + "? ./bench.sh --python installs it): " + e.getMessage(), e);
        }
    }

    /** The {@code key=value} tokens of the first line starting with {@code prefix}. */
    private static Map<String, String> keyValues(List<String> lines, String prefix, Path log) {
        for (String line : lines) {
            if (line.startsWith(prefix)) {
                Map<String, String> map = new LinkedHashMap<>();
                for (String kv : line.substring(prefix.length()).split(" ")) {
                    String[] p = kv.split("=", 2);
                    map.put(p[0], p.length > 1 ? p[1] : "");
                }
                return map;
            }
        }
        throw new IllegalStateException("the Python reference printed no '" + prefix.trim() + "' line: " + lines
                + "; see " + log);
    }
}

package io.peft4j.agent.mkl;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import io.peft4j.log.PeftLog;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The agent option {@code mklCodePaths=features}: makes the oneMKL inside libtorch choose its kernels by the CPU's
 * features on a CPU that is not Intel's, as it does on Intel's. oneMKL (which libtorch links statically) asks its
 * exported function {@code mkl_serv_intel_cpu_true} whether the CPU is Intel's and, when it is not, runs its generic
 * code path (oneMKL CPU type 0 on this project's AMD EPYC: SGEMMs 1.2x slower than OpenBLAS for the large ones, up to
 * 4x for LoRA's rank-8 ones; BENCHMARKS.md, "oneMKL on AMD CPUs"). {@link #prepare()} loads
 * {@link CpuCheckLibrary} (that function answering yes) into the process's global symbol scope before libtorch is
 * loaded, which is what {@code LD_PRELOAD} of the same library does: libtorch's calls then bind to it, and oneMKL
 * dispatches on the CPU's features (AVX2, AVX-512). {@link #report()} reads the CPU type oneMKL chose, once libtorch is
 * loaded.
 *
 * <p>Only at launch ({@code -javaagent}) and only on Linux x86-64; nothing is done on Intel CPUs. The loading uses JNA,
 * which DJL's {@code api} brings.
 */
public final class MklCodePaths {

    /** dlopen's {@code RTLD_LAZY | RTLD_GLOBAL} on Linux. */
    private static final int RTLD_LAZY_GLOBAL = 0x001 | 0x100;
    private static final String LIBTORCH = "libtorch_cpu.so";
    private static final Path CPU_INFO = Path.of("/proc/cpuinfo");
    private static final Path MAPS = Path.of("/proc/self/maps");

    /** Held for the life of the JVM: JNA closes a library whose {@code NativeLibrary} becomes unreachable. */
    private static volatile Object loaded;

    private MklCodePaths() {}

    /** What {@link #prepare()} did. */
    public enum Outcome {
        /** The library is in the global scope; libtorch, loaded later, binds to it. */
        LOADED,
        /** An Intel CPU: oneMKL takes its Intel code paths already. */
        NOT_NEEDED,
        /** Not done (the reason was logged as a warning). */
        NOT_APPLIED
    }

    /**
     * Loads {@link CpuCheckLibrary} into the global symbol scope, before libtorch is loaded, and logs what was done
     * (one line: {@code INFO} for {@link Outcome#LOADED} and {@link Outcome#NOT_NEEDED}, {@code WARN} with the reason
     * otherwise). Never throws.
     */
    public static Outcome prepare() {
        PeftLog log = PeftLog.get(MklCodePaths.class);
        if (!linuxX64()) {
            log.warn("mklCodePaths=features works on Linux x86-64 only, not on " + System.getProperty("os.name")
                    + " " + System.getProperty("os.arch") + "; oneMKL chooses its code paths itself");
            return Outcome.NOT_APPLIED;
        }
        String vendor = cpuVendor();
        if ("GenuineIntel".equals(vendor)) {
            log.info("mklCodePaths=features: an Intel CPU, on which oneMKL chooses its code paths by the CPU's"
                    + " features already; nothing to do");
            return Outcome.NOT_NEEDED;
        }
        Optional<String> libtorch = loadedLibtorch();
        if (libtorch.isPresent()) {
            log.warn("mklCodePaths=features comes too late: libtorch is already loaded (" + libtorch.get()
                    + "), so oneMKL keeps the code paths it chose; give the option at launch (-javaagent), not when"
                    + " attaching");
            return Outcome.NOT_APPLIED;
        }
        Path file = null;
        try {
            file = CpuCheckLibrary.write(Files.createTempFile("peft4j-mkl-", ".so"));
            loaded = NativeLibrary.getInstance(file.toString(), Map.of(Library.OPTION_OPEN_FLAGS, RTLD_LAZY_GLOBAL));
        } catch (LinkageError e) {
            log.warn("mklCodePaths=features needs JNA (net.java.dev.jna:jna, which DJL's api brings) on the"
                    + " class path the agent is loaded from; not applied (" + e + ")");
            return Outcome.NOT_APPLIED;
        } catch (IOException | RuntimeException e) {
            log.warn("mklCodePaths=features could not load its library" + (file == null ? "" : " " + file)
                    + ": " + e.getMessage() + "; oneMKL chooses its code paths itself");
            return Outcome.NOT_APPLIED;
        } finally {
            deleteQuietly(file);
        }
        log.info("mklCodePaths=features: oneMKL will choose its code paths by the CPU's features on this "
                + (vendor == null ? "non-Intel" : vendor) + " CPU (" + CpuCheckLibrary.SYMBOL
                + " answers yes; loaded before libtorch)");
        return Outcome.LOADED;
    }

    /**
     * Once libtorch is loaded: the CPU type oneMKL chose ({@code mkl_serv_cpu_detect}; 0 is its generic code path),
     * or empty when no libtorch with oneMKL is loaded in this process.
     */
    public static Optional<Integer> cpuType() {
        Optional<String> libtorch = loadedLibtorch();
        if (libtorch.isEmpty()) {
            return Optional.empty();
        }
        try {
            Function detect = NativeLibrary.getInstance(libtorch.get()).getFunction("mkl_serv_cpu_detect");
            return Optional.of(detect.invokeInt(new Object[0]));
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty(); // a libtorch built without oneMKL
        }
    }

    /**
     * Logs, once libtorch is loaded, the CPU type oneMKL chose after {@link #prepare()}: {@code INFO}, or {@code WARN}
     * when it is still its generic code path.
     */
    public static void report() {
        PeftLog log = PeftLog.get(MklCodePaths.class);
        Optional<Integer> type;
        try {
            type = cpuType();
        } catch (LinkageError | RuntimeException e) {
            log.warn("mklCodePaths=features: could not read oneMKL's CPU type ({})", e.toString());
            return;
        }
        if (type.isEmpty()) {
            log.info("mklCodePaths=features: the libtorch loaded here has no oneMKL; nothing changed");
        } else if (type.get() == 0) {
            log.warn("mklCodePaths=features had no effect: oneMKL runs its generic code path (CPU type 0)");
        } else {
            log.info("mklCodePaths=features: oneMKL runs the code path of its CPU type {} (0 is its generic one)",
                    type.get());
        }
    }

    /**
     * Without the option: a line suggesting it on Linux x86-64 when the CPU is not Intel's (oneMKL then runs its
     * generic code path), or {@code null}. Reads only the CPU's vendor: cheap enough for the first model's use.
     */
    public static String hint() {
        if (!linuxX64()) {
            return null;
        }
        String vendor = cpuVendor();
        if (vendor == null || "GenuineIntel".equals(vendor)) {
            return null;
        }
        return "on this " + vendor + " CPU the oneMKL inside libtorch runs its generic code path (it chooses by CPU"
                + " vendor); the agent option mklCodePaths=features makes it choose by the CPU's features (GEMMs"
                + " 1.5-4x faster on an AMD EPYC: README, Performance)";
    }

    private static boolean linuxX64() {
        String arch = System.getProperty("os.arch", "");
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    /** The path of the {@code libtorch_cpu.so} mapped into this process, if any. */
    static Optional<String> loadedLibtorch() {
        try (Stream<String> lines = Files.lines(MAPS, StandardCharsets.UTF_8)) {
            return lines.map(l -> l.substring(l.indexOf('/') < 0 ? l.length() : l.indexOf('/')))
                    .filter(p -> p.endsWith("/" + LIBTORCH)).findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The CPU's vendor string ({@code GenuineIntel}, {@code AuthenticAMD}, ...), or {@code null} if unknown. */
    static String cpuVendor() {
        // a plain loop, not a stream: the hint reads this at the first model's use, on the way to its first forward
        try (BufferedReader in = Files.newBufferedReader(CPU_INFO, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("vendor_id")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown vendor: treated as not Intel's
        }
        return null;
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file); // the mapping stays valid once loaded
            } catch (IOException e) {
                // a 1 KB file left in the temporary directory
            }
        }
    }
}

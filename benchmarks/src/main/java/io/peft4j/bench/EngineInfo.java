package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The JVM side's engine settings as one line, {@code VERSIONS djl=... pytorch=... intraOpThreads=...
 * interOpThreads=... features=... nativeLibs=...}: the PyTorch build features libtorch reports (MKL, OpenMP, ...),
 * and the BLAS/OpenMP libraries mapped into the process. Printed by {@link TrainStateProbe} and, per thread count,
 * by the side-by-side run ({@code java -cp benchmarks.jar io.peft4j.bench.EngineInfo}).
 */
public final class EngineInfo {

    private EngineInfo() {}

    /** The {@code VERSIONS ...} line of this JVM (starts the engine). */
    public static String line() {
        String features = String.join(",", new TreeSet<>(JniUtils.getFeatures()));
        return "VERSIONS djl=" + Engine.getDjlVersion() + " pytorch=" + Engine.getInstance().getVersion()
                + " intraOpThreads=" + JniUtils.getNumThreads() + " interOpThreads="
                + JniUtils.getNumInteropThreads() + " features=" + (features.isEmpty() ? "-" : features)
                + " nativeLibs=" + nativeLibs();
    }

    /** File names of the mapped libraries that do BLAS or threading (libtorch links MKL statically). */
    static String nativeLibs() {
        try {
            String libs = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.contains(".so") && f.matches(".*(torch_cpu|blas|mkl|gomp|iomp|lapack).*"))
                    .map(f -> f.substring(f.lastIndexOf('/') + 1))
                    .collect(Collectors.toCollection(TreeSet::new)).stream().collect(Collectors.joining(","));
            return libs.isEmpty() ? "-" : libs;
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** Prints {@link #line()} after one matrix product (so that lazily loaded libraries are mapped). */
    public static void main(String[] args) {
        Jvm.PLAIN.require();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.ones(new Shape(64, 64));
            a.matMul(a);
        }
        System.out.println(line());
        System.exit(0);
    }
}

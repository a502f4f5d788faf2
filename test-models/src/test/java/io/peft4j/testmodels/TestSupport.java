package io.peft4j.testmodels;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Shared helpers for the test-models tests: golden directory, array comparison, forking the applications. */
final class TestSupport {

    /** Every golden case whose model has a twin here. */
    static final List<String> TWIN_CASES = List.of("a_lora_dummy", "b1_lora_mlp", "b2_lora_mlp_rslora",
            "b3_lora_mlp_bias_all", "b4_lora_mlp_bias_lora_only", "b5_lora_mlp_rank_alpha_pattern",
            "b6_lora_mlp_modules_to_save", "c1_lora_embedding", "c2_lora_conv2d", "d_ia3_mlp", "e_adalora_mlp",
            "f1_lora_mlp_regex", "g_two_adapters");

    private TestSupport() {}

    static Path goldenDir() {
        return Paths.get(System.getProperty("peft4j.golden.dir", "../core/src/test/resources/golden"));
    }

    static Path caseDir(String name) {
        return goldenDir().resolve(name);
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        if (!a.getShape().equals(b.getShape())) {
            throw new AssertionError("shape " + a.getShape() + " != " + b.getShape());
        }
        return a.toType(b.getDataType(), false).sub(b).abs().max().getFloat();
    }

    /** Result of a forked JVM. */
    static final class Forked {
        final int exitCode;
        final String stdout;
        final String stderr;

        Forked(int exitCode, String stdout, String stderr) {
            this.exitCode = exitCode;
            this.stdout = stdout;
            this.stderr = stderr;
        }
    }

    /** Runs a main class of this module in a fresh JVM with the classpath that other modules use. */
    static Forked fork(Path workDir, String mainClass, String... args) throws IOException, InterruptedException {
        String classes = System.getProperty("peft4j.testmodels.classes", "target/classes");
        Path cpFile = Paths.get(System.getProperty("peft4j.testmodels.classpath.file", "target/runtime-classpath.txt"));
        String cp = classes + java.io.File.pathSeparator + Files.readString(cpFile, StandardCharsets.UTF_8).trim();
        List<String> cmd = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", cp, mainClass));
        cmd.addAll(List.of(args));
        Files.createDirectories(workDir);
        Path out = workDir.resolve(mainClass.substring(mainClass.lastIndexOf('.') + 1) + ".stdout");
        Path err = workDir.resolve(mainClass.substring(mainClass.lastIndexOf('.') + 1) + ".stderr");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(mainClass + " did not exit within 120 s");
        }
        return new Forked(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}

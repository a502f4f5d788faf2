package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code mklCodePaths=features} at launch: the application's output is still PEFT's, the agent says what oneMKL
 * chose, and its library leaves no file behind. On a CPU that is not Intel's oneMKL's CPU type must no longer be 0
 * (its generic code path, which {@code MklCodePathsTest} shows it takes there without the option); without the
 * option, the agent suggests it once on such a CPU.
 */
class MklCodePathsThroughAgentTest {

    private static final Pattern CPU_TYPE = Pattern.compile("oneMKL runs the code path of its CPU type (\\d+)");

    @Test
    void featuresAtLaunchKeepPeftsOutputAndChangeOneMklsCodePathOnCpusThatAreNotIntels() throws IOException {
        String arch = System.getProperty("os.arch");
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && ("amd64".equals(arch)
                || "x86_64".equals(arch)), "Linux x86-64");
        String caseName = "b1_lora_mlp";
        Path caseDir = ItEnvironment.goldenCase(caseName);
        Path work = ItEnvironment.freshWorkDir("mkl-code-paths");
        Path tmp = Files.createDirectories(work.resolve("tmp"));
        Path output = work.resolve("output.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir + ",mklCodePaths=features")
                .systemProperty("java.io.tmpdir", tmp.toString())
                .args(caseDir, output)
                .run(work, "features");

        assertEquals(0, run.exitCode(), run::describe);
        AgentLog.assertNoErrors(run);
        TensorAssertions.assertClose(Safetensors.read(caseDir.resolve("expected_output.safetensors")).get("output"),
                Safetensors.read(output).get("output"), 1e-5, caseName + " output with mklCodePaths=features");
        String vendor;
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            vendor = lines.filter(l -> l.startsWith("vendor_id")).findFirst().orElse("").replaceAll(".*:\\s*", "");
        }
        if (vendor.equals("GenuineIntel")) {
            assertTrue(run.output().contains("mklCodePaths=features: an Intel CPU, on which oneMKL chooses its code"
                    + " paths by the CPU's features already; nothing to do"), run::describe);
        } else {
            assertTrue(run.output().contains("mklCodePaths=features: oneMKL will choose its code paths by the CPU's"
                    + " features on this " + vendor + " CPU (mkl_serv_intel_cpu_true answers yes; loaded before"
                    + " libtorch)"), run::describe);
            Matcher type = CPU_TYPE.matcher(run.output());
            assertTrue(type.find(), () -> "no line naming oneMKL's CPU type\n" + run.describe());
            assertTrue(Integer.parseInt(type.group(1)) > 0, () -> "oneMKL's CPU type\n" + run.describe());
        }
        // without the option: oneMKL's own choice, and on such a CPU the agent suggests the option once
        ForkedJvm.Result plain = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + caseDir)
                .args(caseDir, work.resolve("vendor.safetensors"))
                .run(work, "vendor");
        assertEquals(0, plain.exitCode(), plain::describe);
        assertTrue(!plain.output().contains("mklCodePaths=features:"), plain::describe);
        assertEquals(vendor.equals("GenuineIntel") ? 0 : 1, plain.output().split("the agent option"
                + " mklCodePaths=features makes it choose by the CPU's features", -1).length - 1, plain::describe);
        try (Stream<Path> left = Files.list(tmp)) {
            List<Path> files = left.filter(f -> f.getFileName().toString().startsWith("peft4j-mkl-")).toList();
            assertEquals(List.of(), files, "the library's temporary file is deleted once loaded");
        }
    }
}

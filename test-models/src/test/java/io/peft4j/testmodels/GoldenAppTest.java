package io.peft4j.testmodels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link GoldenApp} writes PEFT's adapter-disabled output, in process and in a forked plain JVM. */
class GoldenAppTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"a_lora_dummy", "b1_lora_mlp", "c2_lora_conv2d", "g_two_adapters"})
    void mainWritesTheDisabledOutput(String caseName) throws Exception {
        Path out = tmp.resolve(caseName + ".safetensors");
        GoldenApp.main(new String[] {TestSupport.caseDir(caseName).toString(), out.toString()});
        assertMatchesDisabled(caseName, out);
    }

    @Test
    void modelOptionOverridesCaseJson() throws Exception {
        Path out = tmp.resolve("mlp.safetensors");
        long[] shape = GoldenApp.run(TestSupport.caseDir("d_ia3_mlp"), out, "MLP", true);
        assertEquals(2, shape.length);
        assertMatchesDisabled("d_ia3_mlp", out);
    }

    @Test
    void forkedPlainJvmRunsWithTheExportedClasspath() throws Exception {
        Path out = tmp.resolve("forked.safetensors");
        TestSupport.Forked run = TestSupport.fork(tmp, "io.peft4j.testmodels.GoldenApp",
                TestSupport.caseDir("c1_lora_embedding").toString(), out.toString(), "--train-check");
        assertEquals(0, run.exitCode, run.stderr);
        assertTrue(run.stdout.contains("GoldenApp: wrote " + out + " shape=[1, 8, 10]"), run.stdout);
        assertTrue(run.stdout.contains("GoldenApp: train-check loss="), run.stdout);
        assertMatchesDisabled("c1_lora_embedding", out);

        TestSupport.Forked usage = TestSupport.fork(tmp, "io.peft4j.testmodels.GoldenApp", "only-one-arg");
        assertEquals(2, usage.exitCode);
        assertTrue(usage.stderr.contains("usage: GoldenApp"), usage.stderr);

        TestSupport.Forked missing = TestSupport.fork(tmp, "io.peft4j.testmodels.GoldenApp",
                tmp.resolve("no-such-case").toString(), out.toString());
        assertEquals(1, missing.exitCode);
        assertTrue(missing.stderr.contains("No case.json"), missing.stderr);
    }

    private static void assertMatchesDisabled(String caseName, Path out) throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray got = TorchWeights.readSafetensors(out, manager).get("output");
            NDArray want = TorchWeights.readSafetensors(
                    TestSupport.caseDir(caseName).resolve("expected_output_disabled.safetensors"), manager)
                    .get("output");
            float diff = TestSupport.maxAbsDiff(got, want);
            System.out.printf(Locale.ROOT, "GoldenAppTest %-20s max|diff|=%.3g%n", caseName, diff);
            assertTrue(diff < 1e-5f, caseName + ": max |diff| " + diff);
        }
    }
}

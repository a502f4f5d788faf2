package io.peft4j.agent.mkl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.log.PeftLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link MklCodePaths} in a JVM whose libtorch is loaded already (this test's): the option comes too late and says
 * so; oneMKL's CPU type there is its own choice. The effect at launch is {@code MklCodePathsThroughAgentTest}'s.
 */
class MklCodePathsTest {

    private final List<String> logged = new ArrayList<>();

    @AfterEach
    void stopCapture() {
        PeftLog.captureForTests(null);
    }

    private static void loadLibtorch() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.ones(new Shape(8, 8)).matMul(m.ones(new Shape(8, 8))).close();
        }
    }

    @Test
    void afterLibtorchIsLoadedTheOptionSaysItComesTooLateAndChangesNothing() {
        assumeTrue(CpuCheckLibraryTest.linuxX64(), "Linux x86-64");
        loadLibtorch();
        Optional<Integer> before = MklCodePaths.cpuType();
        PeftLog.captureForTests(logged::add);
        MklCodePaths.Outcome outcome = MklCodePaths.prepare();
        if ("GenuineIntel".equals(MklCodePaths.cpuVendor())) {
            assertEquals(MklCodePaths.Outcome.NOT_NEEDED, outcome);
            assertTrue(logged.get(0).contains("an Intel CPU, on which oneMKL chooses its code paths by the CPU's"
                    + " features already; nothing to do"), logged::toString);
        } else {
            assertEquals(MklCodePaths.Outcome.NOT_APPLIED, outcome);
            assertEquals(1, logged.size(), logged::toString);
            String libtorch = MklCodePaths.loadedLibtorch().orElseThrow();
            assertTrue(libtorch.endsWith("/libtorch_cpu.so"), libtorch);
            assertTrue(logged.get(0).contains("mklCodePaths=features comes too late: libtorch is already loaded ("
                    + libtorch + "), so oneMKL keeps the code paths it chose"), logged::toString);
        }
        assertEquals(before, MklCodePaths.cpuType(), "oneMKL's CPU type is unchanged");
    }

    @Test
    void withoutTheLibraryOneMklTakesItsGenericPathOnCpusThatAreNotIntels() {
        assumeTrue(CpuCheckLibraryTest.linuxX64(), "Linux x86-64");
        loadLibtorch();
        assumeTrue(System.getenv("LD_PRELOAD") == null, "no library preloaded into this JVM");
        int type = MklCodePaths.cpuType().orElseThrow(() -> new AssertionError("libtorch_cpu.so with oneMKL"));
        if (!"GenuineIntel".equals(MklCodePaths.cpuVendor())) {
            // the baseline MklCodePathsThroughAgentTest's non-zero type is set against
            assertEquals(0, type, "oneMKL's CPU type chosen by vendor");
            PeftLog.captureForTests(logged::add);
            MklCodePaths.report();
            assertEquals(1, logged.size(), logged::toString);
            assertTrue(logged.get(0).contains("WARN")
                    && logged.get(0).contains("mklCodePaths=features had no effect: oneMKL runs its generic code path"
                            + " (CPU type 0)"), logged::toString);
        }
    }

    @Test
    void theHintNamesTheVendorOfACpuThatIsNotIntels() {
        assumeTrue(CpuCheckLibraryTest.linuxX64(), "Linux x86-64");
        String vendor = MklCodePaths.cpuVendor();
        if (vendor == null || "GenuineIntel".equals(vendor)) {
            assertEquals(null, MklCodePaths.hint());
        } else {
            assertEquals("on this " + vendor + " CPU the oneMKL inside libtorch runs its generic code path (it chooses"
                    + " by CPU vendor); the agent option mklCodePaths=features makes it choose by the CPU's features"
                    + " (GEMMs 1.5-4x faster on an AMD EPYC: README, Performance)", MklCodePaths.hint());
        }
    }
}

package io.peft4j.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Locale;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.junit.jupiter.api.Test;

/**
 * The Java API attaches to its own JVM with {@link SelfAttach} (2 ms polls) where it can: HotSpot on Linux or macOS
 * with JNA, as in this test JVM; Byte Buddy's emulated attachment elsewhere.
 */
class SelfAttachTest {

    @Test
    void onLinuxHotSpotWithJnaTheProviderIsSelfAttach() {
        assumeTrue(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux"), "Linux");
        assumeTrue(!System.getProperty("java.vm.name", "").toUpperCase(Locale.ROOT).contains("J9"), "HotSpot");
        ByteBuddyAgent.AttachmentProvider.Accessor accessor = SelfAttach.provider().attempt();
        assertTrue(SelfAttach.usable());
        assertTrue(accessor.isAvailable());
        assertFalse(accessor.isExternalAttachmentRequired(), "attaches in this process, no helper JVM");
        assertEquals(SelfAttach.class, accessor.getVirtualMachineType());
    }

    @Test
    void itInstallsTheInstrumentation() {
        PeftInstrumentation.ensureInstalled();
        assertTrue(PeftInstrumentation.isInstalled());
        assertNotNull(PeftInstrumentation.instrumentation());
        assertTrue(PeftInstrumentation.instrumentation().isRetransformClassesSupported());
    }
}

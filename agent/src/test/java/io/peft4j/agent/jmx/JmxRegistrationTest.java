package io.peft4j.agent.jmx;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.instrument.ModelHooks;
import io.peft4j.log.PeftLog;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * At launch the MXBean is registered on its own thread once the application's first outermost forward pass has
 * returned (not when an inner pass ends), or after a wait when no pass comes; once either way.
 */
class JmxRegistrationTest {

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final List<String> logged = new CopyOnWriteArrayList<>();

    @AfterEach
    void reset() throws Exception {
        PeftLog.captureForTests(null);
        JmxRegistration.resetForTests(JmxRegistration.WAIT_SECONDS * 1000);
    }

    private static AdaptersMXBean bean() {
        return (AdaptersMXBean) Proxy.newProxyInstance(AdaptersMXBean.class.getClassLoader(),
                new Class<?>[] {AdaptersMXBean.class}, (proxy, method, args) -> {
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private boolean registered() throws Exception {
        return server.isRegistered(new ObjectName(AdaptersMXBean.OBJECT_NAME));
    }

    @Test
    void registersOnItsOwnThreadWhenTheOutermostForwardPassHasReturned() throws Exception {
        JmxRegistration.resetForTests(600_000);
        PeftLog.captureForTests(logged::add);
        JmxRegistration.registerAfterFirstPass(bean());
        Thread thread = JmxRegistration.scheduled();
        ModelHooks.enterForward(new Object());
        ModelHooks.enterForward(new Object());
        ModelHooks.exitForward(); // an inner pass ends: not yet
        thread.join(200);
        boolean waitingAfterInner = thread.isAlive();
        ModelHooks.exitForward();
        thread.join(60_000);
        assertAll(() -> assertEquals("peft4j-jmx", thread.getName()), () -> assertTrue(thread.isDaemon()),
                () -> assertTrue(waitingAfterInner, "still waiting after an inner pass ended"),
                () -> assertFalse(thread.isAlive()), () -> assertTrue(registered()),
                () -> assertEquals(1, logged.size(), logged::toString),
                () -> assertTrue(Pattern.matches("INFO JMX: registered MXBean io\\.peft4j:type=Adapters in \\d+ ms,"
                        + " after the first forward pass \\(local access: java -jar peft4j-agent.jar jmx <pid> list\\)",
                        logged.get(0)), logged::toString));
        JmxRegistration.registerAfterFirstPass(bean());
        assertEquals(thread, JmxRegistration.scheduled(), "once");
    }

    @Test
    void registersAfterTheWaitWhenNoForwardPassComesAndForgetsThePass() throws Exception {
        JmxRegistration.resetForTests(50);
        PeftLog.captureForTests(logged::add);
        JmxRegistration.registerAfterFirstPass(bean());
        JmxRegistration.scheduled().join(60_000);
        assertTrue(registered());
        assertTrue(logged.get(0).contains(", 50 ms after the model's first use (no forward pass yet)"),
                logged::toString);
        ModelHooks.enterForward(new Object());
        ModelHooks.exitForward();
        assertEquals(1, logged.size(), "a later pass registers nothing again: " + logged);
    }
}

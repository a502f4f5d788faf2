package io.peft4j.agent.jmx;

import io.peft4j.instrument.ModelHooks;
import io.peft4j.log.PeftLog;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Registers the MXBean in the platform MBean server, once. Never from {@code premain}: creating the platform MBean
 * server while the JVM starts breaks application servers that install their own MBean server builder or log manager
 * in their {@code main}.
 *
 * <p>At launch ({@link #registerAfterFirstPass}) the registration runs on a daemon thread of its own
 * ({@code peft4j-jmx}) once the application's first forward pass after its first use of a model has returned, or
 * {@value #WAIT_SECONDS} s after that first use when no pass has run by then (a service waiting for its first
 * request): creating the platform MBean server is 60-200 ms of the JDK's work, which then never delays the model's
 * first result (created while DJL loaded libtorch instead, it cost the start to the first forward 65-75 ms on a
 * 2-core machine). Operators' {@code java -jar peft4j-agent.jar jmx <pid> ...} does not need the MBean server at all
 * (it reaches the agent through the attach mechanism); jconsole, VisualVM and {@code --via-jmx} do. When attached
 * to a running JVM ({@link #register}): at once. Failures are logged, never thrown.
 */
public final class JmxRegistration {

    /** How long the registration waits for the first forward pass after the model's first use. */
    static final long WAIT_SECONDS = 2;
    /** {@link #WAIT_SECONDS} in milliseconds; tests change it. */
    private static volatile long waitMillis = WAIT_SECONDS * 1000;

    private static final PeftLog LOG = PeftLog.get(JmxRegistration.class);
    private static final AtomicBoolean DONE = new AtomicBoolean();
    /** The thread {@link #registerAfterFirstPass} started, once. */
    private static final AtomicReference<Thread> SCHEDULED = new AtomicReference<>();

    private JmxRegistration() {}

    /**
     * Registers {@code bean} on the thread {@code peft4j-jmx} when the next outermost forward pass has returned, or
     * {@value #WAIT_SECONDS} s from now if none has; once. Returns at once.
     */
    public static void registerAfterFirstPass(AdaptersMXBean bean) {
        if (DONE.get() || SCHEDULED.get() != null) {
            return;
        }
        CountDownLatch pass = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            boolean afterPass;
            try {
                afterPass = pass.await(waitMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (!afterPass) {
                ModelHooks.afterNextOutermostPass(null);
            }
            register(bean, afterPass ? "after the first forward pass"
                    : (waitMillis % 1000 == 0 ? waitMillis / 1000 + " s" : waitMillis + " ms")
                            + " after the model's first use (no forward pass yet)");
        }, "peft4j-jmx");
        t.setDaemon(true);
        if (SCHEDULED.compareAndSet(null, t)) {
            ModelHooks.afterNextOutermostPass(pass::countDown);
            t.start();
        }
    }

    /** The thread of {@link #registerAfterFirstPass}, or {@code null}; for tests. */
    static Thread scheduled() {
        return SCHEDULED.get();
    }

    /** Forgets the registration and unregisters the MXBean; the wait for a forward pass becomes {@code wait}. */
    static void resetForTests(long waitMillisForTests) throws Exception {
        ModelHooks.afterNextOutermostPass(null);
        ObjectName name = new ObjectName(AdaptersMXBean.OBJECT_NAME);
        if (ManagementFactory.getPlatformMBeanServer().isRegistered(name)) {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
        }
        waitMillis = waitMillisForTests;
        SCHEDULED.set(null);
        DONE.set(false);
    }

    /**
     * Registers {@code bean} as {@value AdaptersMXBean#OBJECT_NAME} now, unless already done.
     *
     * @param bean the bean
     */
    public static void register(AdaptersMXBean bean) {
        register(bean, null);
    }

    private static void register(AdaptersMXBean bean, String when) {
        if (!DONE.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            server.registerMBean(bean, new ObjectName(AdaptersMXBean.OBJECT_NAME));
            LOG.info("JMX: registered MXBean {} in {} ms{} (local access: java -jar peft4j-agent.jar jmx <pid> list)",
                    AdaptersMXBean.OBJECT_NAME, (System.nanoTime() - start) / 1_000_000,
                    when == null ? "" : ", " + when);
        } catch (InstanceAlreadyExistsException e) {
            LOG.warn("JMX: {} is already registered (another peft4j?); not replacing it", AdaptersMXBean.OBJECT_NAME);
        } catch (Throwable t) {
            LOG.warn("JMX: cannot register {}: {}; the agent runs without JMX", AdaptersMXBean.OBJECT_NAME,
                    t.toString());
        }
    }
}

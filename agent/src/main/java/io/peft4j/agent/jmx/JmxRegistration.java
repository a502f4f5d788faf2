package io.peft4j.agent.jmx;

import io.peft4j.log.PeftLog;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Registers the MXBean in the platform MBean server, once. Never from {@code premain}: creating the platform MBean
 * server while the JVM starts breaks application servers that install their own MBean server builder or log manager
 * in their {@code main}. At launch the agent registers when the application first uses a model, on that thread, after
 * the model is adapted; the platform MBean server itself (60-200 ms of the JDK's start-up work) is created earlier,
 * on a thread of its own, while the application loads DJL's engine ({@link #prepareServer}: by then its {@code main}
 * runs), and the registration waits for that thread, so that it never runs beside the model's computations (creating
 * the server on a thread of its own while the first training steps ran changed their results: most likely through
 * the garbage collections its allocations caused, which freed the memory of scalars the backward pass still read
 * before {@code io.peft4j.layer.Scalars} fixed that). When
 * attached to a running JVM: at once. Failures are logged, never thrown.
 */
public final class JmxRegistration {

    private static final PeftLog LOG = PeftLog.get(JmxRegistration.class);
    private static final AtomicBoolean DONE = new AtomicBoolean();
    /** {@link #prepareServer}'s thread, once started. */
    private static final AtomicReference<Thread> PREPARING = new AtomicReference<>();
    /** How long {@link #prepareServer}'s thread took to create the server (-1: it failed; 0: not run). */
    private static volatile long preparedMillis;

    private JmxRegistration() {}

    /**
     * Creates the platform MBean server on a daemon thread of its own ({@code peft4j-jmx}), once; {@link #register}
     * waits for it. Returns at once.
     */
    public static void prepareServer() {
        if (DONE.get() || PREPARING.get() != null) {
            return;
        }
        Thread t = new Thread(() -> {
            // no logging here: this thread runs beside the application's start (register() reports it)
            long start = System.nanoTime();
            try {
                ManagementFactory.getPlatformMBeanServer();
                preparedMillis = (System.nanoTime() - start) / 1_000_000;
            } catch (Throwable e) {
                preparedMillis = -1;
            }
        }, "peft4j-jmx");
        t.setDaemon(true);
        if (PREPARING.compareAndSet(null, t)) {
            t.start();
        }
    }

    /**
     * Registers {@code bean} as {@value AdaptersMXBean#OBJECT_NAME} unless already done; first waits for
     * {@link #prepareServer}'s thread, if any.
     *
     * @param bean the bean
     */
    public static void register(AdaptersMXBean bean) {
        if (!DONE.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        awaitPrepared();
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            server.registerMBean(bean, new ObjectName(AdaptersMXBean.OBJECT_NAME));
            long prepared = preparedMillis;
            LOG.info("JMX: registered MXBean {} in {} ms{} (local access: java -jar peft4j-agent.jar jmx <pid> list)",
                    AdaptersMXBean.OBJECT_NAME, (System.nanoTime() - start) / 1_000_000, prepared > 0
                            ? "; the platform MBean server was created in " + prepared + " ms while DJL's engine loaded"
                            : "");
        } catch (InstanceAlreadyExistsException e) {
            LOG.warn("JMX: {} is already registered (another peft4j?); not replacing it", AdaptersMXBean.OBJECT_NAME);
        } catch (Throwable t) {
            LOG.warn("JMX: cannot register {}: {}; the agent runs without JMX", AdaptersMXBean.OBJECT_NAME,
                    t.toString());
        }
    }

    private static void awaitPrepared() {
        Thread t = PREPARING.get();
        if (t == null) {
            return;
        }
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

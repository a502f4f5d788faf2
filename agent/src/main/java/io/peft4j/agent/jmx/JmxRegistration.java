package io.peft4j.agent.jmx;

import io.peft4j.log.PeftLog;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Registers the MXBean in the platform MBean server, once. Never called from {@code premain}: creating the platform
 * MBean server while the JVM starts breaks application servers that install their own MBean server builder (and costs
 * start-up time), so the agent registers when the application first uses a model, on that thread, after the model is
 * adapted (not on a thread of its own: creating the server while the first training steps ran changed their
 * floating-point results), or at once when attached to a running JVM. Failures are logged, never thrown.
 */
public final class JmxRegistration {

    private static final PeftLog LOG = PeftLog.get(JmxRegistration.class);
    private static final AtomicBoolean DONE = new AtomicBoolean();

    private JmxRegistration() {}

    /**
     * Registers {@code bean} as {@value AdaptersMXBean#OBJECT_NAME} unless already done.
     *
     * @param bean the bean
     */
    public static void register(AdaptersMXBean bean) {
        if (!DONE.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            server.registerMBean(bean, new ObjectName(AdaptersMXBean.OBJECT_NAME));
            LOG.info("JMX: registered MXBean {} in {} ms (local access: java -jar peft4j-agent.jar jmx <pid> list)",
                    AdaptersMXBean.OBJECT_NAME, (System.nanoTime() - start) / 1_000_000);
        } catch (InstanceAlreadyExistsException e) {
            LOG.warn("JMX: {} is already registered (another peft4j?); not replacing it", AdaptersMXBean.OBJECT_NAME);
        } catch (Throwable t) {
            LOG.warn("JMX: cannot register {}: {}; the agent runs without JMX", AdaptersMXBean.OBJECT_NAME,
                    t.toString());
        }
    }
}

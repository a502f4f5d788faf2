package io.peft4j.it.agent;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * A JMX client of the agent's MXBean in another JVM, connected as an operator would: the attach API starts the
 * target's local management agent (no port configured, nothing of peft4j on this side) and only open types are read.
 */
final class Jmx implements AutoCloseable {

    static final String OBJECT_NAME = "io.peft4j:type=Adapters";

    private final JMXConnector connector;
    private final MBeanServerConnection server;
    private final ObjectName name;

    private Jmx(JMXConnector connector) throws IOException {
        this.connector = connector;
        this.server = connector.getMBeanServerConnection();
        try {
            this.name = new ObjectName(OBJECT_NAME);
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Connects to the local JVM {@code pid}. */
    static Jmx connect(long pid) {
        try {
            VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
            String url;
            try {
                url = vm.startLocalManagementAgent();
            } finally {
                vm.detach();
            }
            return new Jmx(JMXConnectorFactory.connect(new JMXServiceURL(url)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to pid " + pid, e);
        } catch (com.sun.tools.attach.AttachNotSupportedException e) {
            throw new IllegalStateException("cannot attach to pid " + pid, e);
        }
    }

    /**
     * Waits until the MXBean is registered (the agent registers it on a thread of its own right after the
     * application's first use of a model) and returns this client.
     */
    Jmx awaitRegistered() {
        long deadline = System.nanoTime() + App.WAIT.toNanos();
        while (!registered()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(OBJECT_NAME + " was not registered within " + App.WAIT);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
        return this;
    }

    /** Whether the MXBean is registered. */
    boolean registered() {
        try {
            return server.isRegistered(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether the JVM has a live thread of that name. */
    boolean hasThread(String threadName) {
        try {
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory
                    .newPlatformMXBeanProxy(server, java.lang.management.ManagementFactory.THREAD_MXBEAN_NAME,
                            java.lang.management.ThreadMXBean.class);
            for (java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info != null && info.getThreadName().equals(threadName)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An attribute's value. */
    Object get(String attribute) {
        try {
            return server.getAttribute(name, attribute);
        } catch (Exception e) {
            throw new IllegalStateException("cannot read " + attribute + ": " + e, e);
        }
    }

    /** A {@code long} attribute. */
    long count(String attribute) {
        return (Long) get(attribute);
    }

    /** A {@code CompositeData[]} attribute as a list. */
    List<CompositeData> rows(String attribute) {
        List<CompositeData> out = new ArrayList<>();
        for (CompositeData row : (CompositeData[]) get(attribute)) {
            out.add(row);
        }
        return out;
    }

    /** Invokes an operation; its result string. */
    String invoke(String operation, String... args) {
        String[] signature = new String[args.length];
        java.util.Arrays.fill(signature, String.class.getName());
        try {
            return (String) server.invoke(name, operation, args, signature);
        } catch (RuntimeMBeanException e) {
            throw e.getTargetException();
        } catch (Exception e) {
            throw new IllegalStateException("cannot invoke " + operation + ": " + e, e);
        }
    }

    /** The ids of the target's deadlocked threads ({@code ThreadMXBean.findDeadlockedThreads}), or null when none. */
    long[] deadlockedThreads() {
        try {
            return java.lang.management.ManagementFactory.newPlatformMXBeanProxy(server,
                    java.lang.management.ManagementFactory.THREAD_MXBEAN_NAME,
                    java.lang.management.ThreadMXBean.class).findDeadlockedThreads();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            connector.close();
        } catch (IOException ignored) {
            // the target is gone
        }
    }
}

package io.peft4j.agent.cli;

import com.sun.tools.attach.VirtualMachine;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import javax.management.JMException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * {@code jmx [--via-jmx] <pid> <operation> [arg]}: reads or changes the adapters of a running JVM through its MXBean
 * {@code io.peft4j:type=Adapters}.
 *
 * <p>By default the operation travels through the attach mechanism itself ({@link ChannelClient}): it runs inside
 * the target and the target opens no port, ever. With {@code --via-jmx} the command connects as jconsole does, through
 * the JDK's local management agent, which the attach API starts on demand and which then listens on a TCP port (local
 * clients only) for the rest of the target's life. Both routes print the same text ({@link JmxOperation}).
 */
final class JmxCommand implements Cli.Command {

    static final String OBJECT_NAME = JmxOperation.OBJECT_NAME;
    /** Chooses the JMX route. */
    static final String VIA_JMX = "--via-jmx";
    /**
     * How long to wait for the MXBean when peft4j runs in the target (it registers right after a model's first use).
     */
    private static final long REGISTRATION_WAIT_NANOS = 5_000_000_000L;

    @Override
    public String usage() {
        List<String> lines = new ArrayList<>(List.of(
                "usage: java -jar peft4j-agent.jar jmx [" + VIA_JMX + "] <pid> <operation> [arguments]",
                "",
                "Reads or changes the adapters of the running JVM <pid> (the MXBean " + OBJECT_NAME + ").",
                "Every operation acts on all the models of the application.",
                ""));
        lines.addAll(JmxOperation.usageLines());
        lines.addAll(List.of("",
                "By default the operation runs inside <pid> through the attach mechanism: <pid> opens no port.",
                VIA_JMX + ": connect through the JDK's local management agent instead, as jconsole does; it then",
                "listens on a TCP port (local clients only) until <pid> exits. The MXBean appears once the",
                "application's first forward pass has returned (at once after attach)."));
        return String.join("\n", lines);
    }

    @Override
    public void run(List<String> all, PrintStream out) throws UsageException, CommandFailure {
        boolean viaJmx = !all.isEmpty() && VIA_JMX.equals(all.get(0));
        List<String> args = viaJmx ? all.subList(1, all.size()) : all;
        if (args.size() < 2) {
            throw new UsageException(args.isEmpty() ? "missing <pid> and <operation>" : "missing <operation>",
                    usage());
        }
        long pid = Cli.pid(args.get(0), usage());
        JmxOperation op = JmxOperation.of(args.get(1));
        if (op == null) {
            throw new UsageException("unknown operation '" + args.get(1) + "'", usage());
        }
        List<String> arguments = args.subList(2, args.size());
        String wrong = op.checkArguments(arguments);
        if (wrong != null) {
            throw new UsageException(wrong, usage());
        }
        if (viaJmx) {
            runViaJmx(pid, op, arguments, out);
        } else {
            ChannelClient.run(pid, op, arguments, out);
        }
    }

    private static void runViaJmx(long pid, JmxOperation op, List<String> arguments, PrintStream out)
            throws CommandFailure {
        String url = localConnectorAddress(pid);
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(url))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName name = new ObjectName(OBJECT_NAME);
            long deadline = System.nanoTime() + REGISTRATION_WAIT_NANOS;
            while (!server.isRegistered(name)) {
                if (System.nanoTime() > deadline) {
                    throw new CommandFailure("pid " + pid + " has no MXBean " + OBJECT_NAME + ": peft4j runs there"
                            + " with jmx=false, or the application has not used a model yet");
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CommandFailure("interrupted while waiting for the MXBean of pid " + pid);
                }
            }
            op.execute(server, name, pid, arguments, out);
        } catch (IOException e) {
            throw new CommandFailure("cannot talk to pid " + pid + " over JMX (" + url + "): " + e, e);
        } catch (JMException e) {
            throw new CommandFailure("JMX error with pid " + pid + ": " + e, e);
        }
    }

    /** The failure of an operation on a JVM where peft4j does not run. */
    static CommandFailure notRunning(long pid) {
        return new CommandFailure("peft4j is not running in pid " + pid + " (attach it first: java -jar"
                + " peft4j-agent.jar attach " + pid + " adapter=DIR)");
    }

    /**
     * Starts (or finds) the target's local management agent, when peft4j runs there (otherwise nothing is started).
     *
     * @return its connector address
     */
    static String localConnectorAddress(long pid) throws CommandFailure {
        VirtualMachine vm = AttachCommand.AttachSupport.attach(pid);
        try {
            if (vm.getSystemProperties().getProperty(AttachCommand.STARTED_PROPERTY) == null) {
                throw notRunning(pid);
            }
            return vm.startLocalManagementAgent();
        } catch (IOException e) {
            throw new CommandFailure("cannot start the local management agent in pid " + pid + ": " + e, e);
        } finally {
            AttachCommand.AttachSupport.detach(vm);
        }
    }
}

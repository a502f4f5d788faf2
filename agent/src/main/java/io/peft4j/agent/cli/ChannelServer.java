package io.peft4j.agent.cli;

import io.peft4j.agent.jmx.AdaptersMXBean;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

/**
 * The agent's side of the attach channel: {@code agentmain} hands every {@link ChannelRequest} here. The operation
 * runs in this JVM, on the attach listener's thread, against the running agent's MXBean implementation registered in
 * a private MBean server of its own (never the platform one, never a connector: nothing listens anywhere), with the
 * same code as the JMX route ({@link JmxOperation}); the reply goes to the request's file: the exit status on the
 * first line ({@code 0} or {@code 1}), then what the command prints (status 0) or the error message (status 1).
 * {@code loadAgent} returns to the command once this returns.
 */
public final class ChannelServer {

    private static MBeanServer server;
    private static AdaptersMXBean registered;

    private ChannelServer() {}

    /** Whether the agent argument {@code agentArgs} is an operation request rather than agent options. */
    public static boolean isRequest(String agentArgs) {
        return ChannelRequest.isRequest(agentArgs);
    }

    /**
     * Runs the request and writes its reply. Never throws: a request that cannot be read or answered is reported on
     * standard error (the command then says that no reply came).
     *
     * @param agentArgs the agent argument, a {@link ChannelRequest}
     * @param bean the running agent's MXBean implementation, or {@code null} when peft4j does not run here
     * @param notRunning why peft4j does not run here (when {@code bean} is {@code null})
     */
    public static void serve(String agentArgs, AdaptersMXBean bean, String notRunning) {
        ChannelRequest request;
        try {
            request = ChannelRequest.decode(agentArgs);
        } catch (RuntimeException e) {
            System.err.println("[peft4j] ERROR ignoring an operation request: " + e.getMessage());
            return;
        }
        String reply;
        try {
            reply = "0\n" + run(request, bean, notRunning);
        } catch (CommandFailure e) {
            reply = "1\n" + e.getMessage();
        } catch (IOException | JMException | RuntimeException | LinkageError e) {
            reply = "1\n" + request.operation() + " failed in pid " + ProcessHandle.current().pid()
                    + ": unexpected error: " + e;
        }
        try {
            // CREATE_NEW: never follows a link or overwrites a file someone placed there.
            Files.writeString(request.reply(), reply, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            System.err.println("[peft4j] ERROR cannot write the reply of operation " + request.operation() + " to "
                    + request.reply() + ": " + e);
        }
    }

    private static String run(ChannelRequest request, AdaptersMXBean bean, String notRunning)
            throws CommandFailure, IOException, JMException {
        long pid = ProcessHandle.current().pid();
        if (bean == null) {
            throw new CommandFailure("peft4j is not running in pid " + pid + " (" + notRunning + ")");
        }
        JmxOperation op = JmxOperation.of(request.operation());
        if (op == null) {
            throw new CommandFailure("unknown operation '" + request.operation() + "' (the agent running in pid "
                    + pid + " is another version than this command's)");
        }
        String wrong = op.checkArguments(request.args());
        if (wrong != null) {
            throw new CommandFailure(wrong);
        }
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            op.execute(serverFor(bean), new ObjectName(JmxOperation.OBJECT_NAME), pid, request.args(), out);
        }
        return text.toString(StandardCharsets.UTF_8);
    }

    /** A private MBean server (not the platform's, reachable by no connector) holding {@code bean}. */
    private static synchronized MBeanServer serverFor(AdaptersMXBean bean) throws JMException {
        if (server == null || registered != bean) {
            MBeanServer s = MBeanServerFactory.newMBeanServer();
            s.registerMBean(bean, new ObjectName(JmxOperation.OBJECT_NAME));
            server = s;
            registered = bean;
        }
        return server;
    }
}

package io.peft4j.agent;

import io.peft4j.agent.cli.ChannelServer;

import java.lang.instrument.Instrumentation;

/**
 * The class named in the jar's manifest as {@code Premain-Class}, {@code Agent-Class} and {@code Main-Class}. It does
 * as little as possible: {@link #premain} and {@link #agentmain} hand over to {@link AgentStarter} and never throw (an
 * agent bug must not stop the host application; only a configuration error with {@code onError=fail} stops it, on
 * purpose, from {@link AgentStarter}); {@link #main} runs the command line ({@code attach}, {@code inspect},
 * {@code jmx}).
 */
public final class PeftAgent {

    private PeftAgent() {}

    /**
     * Called by the JVM for {@code -javaagent:peft4j-agent.jar=OPTIONS}.
     *
     * @param args the agent arguments
     * @param inst the instrumentation
     */
    public static void premain(String args, Instrumentation inst) {
        try {
            AgentStarter.start(args, inst, true);
        } catch (Throwable t) {
            failed(t);
        }
    }

    /**
     * Called when the agent is attached to a running JVM ({@code java -jar peft4j-agent.jar attach PID ...}), and for
     * every operation of {@code java -jar peft4j-agent.jar jmx PID ...}: an operation request only runs the operation
     * on the running agent (its classes, instrumentation and state stay as they are) and writes the reply.
     *
     * @param args the agent arguments, or an operation request
     * @param inst the instrumentation
     */
    public static void agentmain(String args, Instrumentation inst) {
        if (ChannelServer.isRequest(args)) {
            try {
                ChannelServer.serve(args, AgentStarter.operations(), AgentStarter.notRunningReason());
            } catch (Throwable t) {
                System.err.println("[peft4j] ERROR an operation request failed: " + t);
            }
            return;
        }
        try {
            AgentStarter.start(args, inst, false);
        } catch (Throwable t) {
            failed(t);
        }
    }

    private static void failed(Throwable t) {
        try {
            System.setProperty(AgentStarter.STATUS_PROPERTY, "failed: " + t);
            System.err.println("[peft4j] ERROR the agent failed to start; the application runs WITHOUT peft4j: " + t);
            t.printStackTrace();
        } catch (Throwable ignored) {
            // nothing left to do: the application must keep running
        }
    }

    /**
     * {@code java -jar peft4j-agent.jar <command>}: exits with 0 (ok), 1 (failure) or 2 (usage).
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(io.peft4j.agent.cli.Cli.run(args, System.out, System.err));
    }
}

package io.peft4j.bench;

import java.lang.management.ManagementFactory;
import java.net.URL;
import java.security.CodeSource;

/**
 * What kind of JVM a benchmark runs in, checked at set-up so that a mis-configured fork fails instead of measuring
 * the wrong thing.
 */
public enum Jvm {
    /** No peft4j anywhere: the application as it was. */
    PLAIN,
    /** peft4j-core on the class path, instrumentation attached in-process by the Java API; no agent. */
    API,
    /** {@code -javaagent:peft4j-agent.jar=...}; peft4j's classes come from the agent jar only. */
    AGENT;

    /** Whether this JVM was started with {@code -javaagent:peft4j-agent.jar}. */
    public static boolean withAgent() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(a -> a.startsWith("-javaagent:") && a.contains("peft4j-agent"));
    }

    /** Throws unless this JVM is of kind {@code this}. */
    public void require() {
        boolean agent = withAgent();
        String peftFrom = locate("io.peft4j.Peft");
        String problem = null;
        switch (this) {
            case PLAIN:
                if (agent || peftFrom != null) {
                    problem = "peft4j is present (agent=" + agent + ", io.peft4j.Peft from " + peftFrom + ")";
                }
                break;
            case API:
                if (agent || peftFrom == null || !peftFrom.contains("peft4j-core")) {
                    problem = "expected peft4j-core on the class path and no agent (agent=" + agent
                            + ", io.peft4j.Peft from " + peftFrom + ")";
                }
                break;
            default:
                if (!agent || peftFrom == null || !peftFrom.contains("peft4j-agent")) {
                    problem = "expected -javaagent:peft4j-agent.jar as the only peft4j (io.peft4j.Peft from "
                            + peftFrom + ")";
                }
        }
        if (problem != null) {
            throw new IllegalStateException("benchmark JVM is not " + this + ": " + problem);
        }
    }

    private static String locate(String className) {
        try {
            Class<?> c = Class.forName(className, false, Jvm.class.getClassLoader());
            CodeSource source = c.getProtectionDomain().getCodeSource();
            URL url = source == null ? null : source.getLocation();
            return url == null ? "?" : url.toString();
        } catch (ClassNotFoundException e) {
            return null;
        }
    }
}

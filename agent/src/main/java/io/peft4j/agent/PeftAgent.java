package io.peft4j.agent;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.instrument.ModelHooks;
import io.peft4j.instrument.PeftInstrumentation;
import io.peft4j.log.PeftLog;
import io.peft4j.state.AdapterDirectory;

import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The {@code -javaagent} entry point. Does as little as possible: parses the options, reads and validates the
 * adapter config (so a broken config fails at launch, not at the first request), installs the instrumentation and
 * registers the {@link AutoInjector}. A configuration error stops the JVM with a message naming the file and field
 * ({@code onError=fail}, the default) or leaves the application running without adapters ({@code onError=warn}).
 */
public final class PeftAgent {

    private static final String STARTED = "peft4j.internal.started";

    private PeftAgent() {}

    /** Called by the JVM for {@code -javaagent:peft4j-agent.jar=OPTIONS}. */
    public static void premain(String args, Instrumentation inst) {
        start(args, inst, true);
    }

    /** Called when the agent is attached to a running JVM. */
    public static void agentmain(String args, Instrumentation inst) {
        start(args, inst, false);
    }

    /** {@code java -jar peft4j-agent.jar}: usage. */
    public static void main(String[] args) {
        System.out.println("peft4j agent: add -javaagent:peft4j-agent.jar=adapter=DIR[,adapter.NAME=DIR][,active=A+B][,merge=true]"
                + "[,save=OUT][,name=NAME]"
                + "[,onError=fail|warn][,enabled=true|false] to a DJL application's java command.");
    }

    private static synchronized void start(String args, Instrumentation inst, boolean fromPremain) {
        long begin = System.nanoTime();
        AgentOptions options;
        try {
            options = AgentOptions.parse(args, System.getProperties());
        } catch (RuntimeException e) {
            fatal("invalid peft4j options: " + e.getMessage(), true);
            return;
        }
        if (!options.enabled()) {
            System.err.println("[peft4j] INFO agent disabled (enabled=false, " + options.source("enabled") + ")");
            return;
        }
        if (System.getProperty(STARTED) != null) {
            System.err.println("[peft4j] WARN peft4j is already running in this JVM; ignoring this "
                    + (fromPremain ? "-javaagent" : "attach"));
            return;
        }
        PeftLog log = PeftLog.get(PeftAgent.class);
        try {
            Map<String, Path> adapters = options.adapters();
            AutoInjector injector = null;
            if (adapters.isEmpty()) {
                log.warn("no adapter given (adapter=DIR): instrumentation only, nothing will be injected");
            } else {
                for (Map.Entry<String, Path> e : adapters.entrySet()) {
                    AdapterConfig config = readConfig(e.getValue());
                    log.info("adapter '{}' ({}) from {}{}: injected into each model when it is first used",
                            e.getKey(), config.peftType().jsonName(), e.getValue(),
                            AdapterDirectory.hasWeights(e.getValue()) ? ""
                                    : " (no adapter_model.safetensors: fresh weights)");
                }
                injector = new AutoInjector(options);
            }
            PeftInstrumentation.install(inst);
            ModelHooks.setListener(injector);
            System.setProperty(STARTED, "true");
            log.info("agent ready in {} ms", (System.nanoTime() - begin) / 1_000_000);
        } catch (RuntimeException e) {
            fatal(e.getMessage(), options.failOnError());
        }
    }

    private static AdapterConfig readConfig(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("adapter directory " + dir.toAbsolutePath() + " does not exist");
        }
        if (!Files.isRegularFile(dir.resolve(AdapterDirectory.CONFIG_FILE))) {
            throw new IllegalArgumentException("adapter directory " + dir.toAbsolutePath() + " has no "
                    + AdapterDirectory.CONFIG_FILE);
        }
        return AdapterConfigs.read(dir);
    }

    private static void fatal(String message, boolean stop) {
        if (stop) {
            System.err.println("[peft4j] ERROR " + message + " -- stopping (onError=fail). Set onError=warn to run"
                    + " without adapters.");
            System.err.flush();
            System.exit(78);
        } else {
            System.err.println("[peft4j] WARN " + message + " -- continuing WITHOUT adapters (onError=warn)");
        }
    }
}

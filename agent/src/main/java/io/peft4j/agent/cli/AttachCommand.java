package io.peft4j.agent.cli;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import io.peft4j.agent.config.AgentOptions;
import io.peft4j.agent.config.OptionKey;
import io.peft4j.config.AdapterConfigs;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * {@code attach <pid> [key=value,...]}: loads this jar as an agent into a running JVM ({@code agentmain}), which
 * instruments the DJL classes already loaded and adapts each model at its next forward pass or new Predictor. The
 * options are checked here first (keys, adapter directories, configs), with relative paths made absolute, since the
 * target JVM may run in another directory. The target reports the outcome through a system property, read back
 * here: a configuration error never stops the running application, it only makes this command fail.
 */
final class AttachCommand implements Cli.Command {

    static final String STARTED_PROPERTY = "peft4j.internal.started";
    static final String STATUS_PROPERTY = "peft4j.internal.status";

    @Override
    public String usage() {
        return "usage: java -jar peft4j-agent.jar attach <pid> [key=value[,key=value...]]\n\n"
                + "Attaches the peft4j agent to the running JVM <pid> (same user; a JDK's attach API): DJL classes\n"
                + "are instrumented and every model gets the adapters at its next forward pass or new Predictor.\n"
                + "Options are the agent's (several arguments are joined with ','), e.g.\n"
                + "  attach 4242 adapter=/models/lora,adapterRoot=/models,dumpDir=/tmp/peft4j-dumps\n"
                + "A configuration error leaves the application running untouched and makes this command exit 1.\n\n"
                + "Keys (the other ways to set them: java -jar peft4j-agent.jar help options):\n"
                + OptionsHelp.keys();
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        if (args.isEmpty()) {
            throw new UsageException("missing <pid>", usage());
        }
        long pid = Cli.pid(args.get(0), usage());
        String options = absoluteOptions(String.join(",", args.subList(1, args.size())));
        Path jar = agentJar();
        VirtualMachine vm = AttachSupport.attach(pid);
        try {
            Properties before = vm.getSystemProperties();
            if (before.getProperty(STARTED_PROPERTY) != null) {
                throw new CommandFailure("peft4j is already running in pid " + pid + " (started by "
                        + before.getProperty(STARTED_PROPERTY) + "); change its adapters with: java -jar "
                        + "peft4j-agent.jar jmx " + pid + " load NAME | activate NAMES | remove ...");
            }
            try {
                vm.loadAgent(jar.toString(), options);
            } catch (AgentLoadException | AgentInitializationException e) {
                throw new CommandFailure("pid " + pid + " could not load the agent " + jar + ": " + e.getMessage(), e);
            }
            String status = vm.getSystemProperties().getProperty(STATUS_PROPERTY, "unknown");
            if (!"ready".equals(status)) {
                throw new CommandFailure("the agent did not start in pid " + pid + ": " + status
                        + " (the application keeps running; see its standard error)");
            }
            out.println("peft4j attached to pid " + pid + (options.isEmpty() ? "" : " with " + options)
                    + ": ready; models get their adapters at their next forward pass or new Predictor");
        } catch (IOException e) {
            throw new CommandFailure("lost the connection to pid " + pid + ": " + e, e);
        } finally {
            AttachSupport.detach(vm);
        }
    }

    /**
     * Checks the options and makes their paths absolute; also reads each adapter config, so that PEFT's message for
     * a bad config shows here.
     */
    static String absoluteOptions(String options) throws CommandFailure {
        Map<String, String> parsed;
        try {
            parsed = AgentOptions.parseArguments(options);
        } catch (IllegalArgumentException e) {
            throw new CommandFailure(e.getMessage());
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : parsed.entrySet()) {
            String value = e.getValue();
            OptionKey key = OptionKey.of(e.getKey());
            if (key.kind() == OptionKey.Kind.PATH && !value.isEmpty() && !value.contains(OptionKey.MODEL_DIR)) {
                Path path = Path.of(value).toAbsolutePath().normalize();
                value = path.toString();
                if (key == OptionKey.ADAPTER || key == OptionKey.ADAPTER_NAMED) {
                    if (!Files.isDirectory(path)) {
                        throw new CommandFailure("option " + e.getKey() + ": adapter directory " + path
                                + " does not exist");
                    }
                    try {
                        AdapterConfigs.read(path);
                    } catch (RuntimeException ex) {
                        throw new CommandFailure("option " + e.getKey() + ": " + ex.getMessage());
                    }
                }
                if (value.contains(",")) {
                    throw new CommandFailure("option " + e.getKey() + ": path " + value + " contains ',' (use an"
                            + " options file: config=FILE)");
                }
            }
            sb.append(sb.length() == 0 ? "" : ",").append(e.getKey()).append('=').append(value);
        }
        return sb.toString();
    }

    /** This jar. */
    static Path agentJar() throws CommandFailure {
        try {
            Path jar = Path.of(AttachCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(jar)) {
                throw new CommandFailure("attach must run from peft4j-agent.jar (java -jar peft4j-agent.jar attach"
                        + " ...), not from " + jar);
            }
            return jar;
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            throw new CommandFailure("cannot locate peft4j-agent.jar: " + e, e);
        }
    }

    /** The attach API's failures, in the user's terms. */
    static final class AttachSupport {
        private AttachSupport() {}

        static VirtualMachine attach(long pid) throws CommandFailure {
            try {
                return VirtualMachine.attach(Long.toString(pid));
            } catch (AttachNotSupportedException e) {
                throw new CommandFailure("cannot attach to pid " + pid + ": " + e.getMessage() + " (is it a running"
                        + " Java process of this user, without -XX:+DisableAttachMechanism?)", e);
            } catch (IOException e) {
                throw new CommandFailure("cannot attach to pid " + pid + ": " + e, e);
            } catch (LinkageError e) {
                throw new CommandFailure("the attach API is missing (module jdk.attach): run this command with a JDK's"
                        + " java, not a JRE", e);
            }
        }

        static void detach(VirtualMachine vm) {
            try {
                vm.detach();
            } catch (IOException ignored) {
                // the target went away: nothing to release
            }
        }
    }
}

package io.peft4j.agent.cli;

import com.sun.tools.attach.VirtualMachine;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.management.JMException;
import javax.management.MBeanException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * {@code jmx <pid> <operation> [arg]}: reads or changes the adapters of a running JVM through the MXBean
 * {@code io.peft4j:type=Adapters}. It connects through the JDK's local management agent of the target (what jconsole
 * uses for a local process, started on demand through the attach API: local connections only); the peft4j agent
 * itself opens no port. Only open types are read, as any JMX client would.
 */
final class JmxCommand implements Cli.Command {

    static final String OBJECT_NAME = "io.peft4j:type=Adapters";
    /**
     * How long to wait for the MXBean when peft4j runs in the target (it registers right after a model's first use).
     */
    private static final long REGISTRATION_WAIT_NANOS = 5_000_000_000L;

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar jmx <pid> <operation> [arguments]",
                "",
                "Reads or changes the adapters of the running JVM <pid> through the MXBean " + OBJECT_NAME + ".",
                "Every operation acts on all the models of the application.",
                "",
                "  list              models, injected modules, adapters and counters",
                "  modules           one line per model, module and adapter (rank, scaling, parameters)",
                "  adapters          one line per model and adapter (active, merged, parameters, L2 norm)",
                "  tree [MODEL]      every module path of each model (or of MODEL, an id such as Mlp#1) with",
                "                    its block class, parameter shapes and adapters: the names for target_modules",
                "  activate NAMES    activate adapters: 'a' or 'a+b'",
                "  disable           disable adapters (outputs equal the base model's)",
                "  enable            enable adapters again",
                "  merge             merge the active adapters into the base weights",
                "  unmerge           restore the base weights",
                "  load NAME         load adapterRoot/NAME into every model and activate it (hot swap); a model",
                "                    that has NAME already gets the new weights in place (PEFT hotswap_adapter)",
                "  dump NAME         write adapter NAME to dumpDir/NAME",
                "  combine NAME ADAPTERS WEIGHTS [TYPE [OPTIONS]]",
                "                    add_weighted_adapter: NAME = ADAPTERS (a+b) combined with WEIGHTS (0.7,0.3);",
                "                    TYPE: svd (default), linear, cat, ties, dare_linear, dare_ties, magnitude_prune,",
                "                    or an _svd form; OPTIONS: density=0.5,majority_sign_method=total,svd_rank=8,",
                "                    svd_clamp=0.99,seed=1. Not activated: then activate NAME",
                "  remove            disable and delete all adapters; no further model is adapted",
                "",
                "The MXBean appears when the application first uses a model (at once after attach).");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        if (args.size() < 2) {
            throw new UsageException(args.isEmpty() ? "missing <pid> and <operation>" : "missing <operation>",
                    usage());
        }
        long pid = Cli.pid(args.get(0), usage());
        String op = args.get(1);
        List<String> arguments = args.subList(Math.min(2, args.size()), args.size());
        String operation;
        switch (op) {
            case "list":
            case "modules":
            case "adapters":
            case "disable":
            case "enable":
            case "merge":
            case "unmerge":
            case "remove":
                if (args.size() > 2) {
                    throw new UsageException("operation " + op + " takes no argument", usage());
                }
                operation = op;
                break;
            case "tree":
                if (args.size() > 3) {
                    throw new UsageException("operation tree takes at most one argument (MODEL)", usage());
                }
                operation = op;
                break;
            case "activate":
            case "load":
            case "dump":
                if (args.size() != 3) {
                    throw new UsageException("operation " + op + " takes one argument ("
                            + ("activate".equals(op) ? "NAMES" : "NAME") + ")", usage());
                }
                operation = op;
                break;
            case "combine":
                if (args.size() < 5 || args.size() > 7) {
                    throw new UsageException("operation combine takes NAME ADAPTERS WEIGHTS [TYPE [OPTIONS]]",
                            usage());
                }
                operation = op;
                break;
            default:
                throw new UsageException("unknown operation '" + op + "'", usage());
        }
        String[] target = localConnectorAddress(pid);
        String url = target[0];
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(url))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName name = new ObjectName(OBJECT_NAME);
            if (target[1] == null) {
                throw new CommandFailure("peft4j is not running in pid " + pid + " (attach it first: java -jar"
                        + " peft4j-agent.jar attach " + pid + " adapter=DIR)");
            }
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
            execute(server, name, pid, operation, arguments, out);
        } catch (IOException e) {
            throw new CommandFailure("cannot talk to pid " + pid + " over JMX (" + url + "): " + e, e);
        } catch (JMException e) {
            throw new CommandFailure("JMX error with pid " + pid + ": " + e, e);
        }
    }

    private static void execute(MBeanServerConnection server, ObjectName name, long pid, String op,
            List<String> args, PrintStream out) throws IOException, JMException, CommandFailure {
        switch (op) {
            case "list":
                out.println("pid " + pid + ": models");
                for (String line : (String[]) server.getAttribute(name, "Models")) {
                    out.println("  " + line);
                }
                out.println();
                printModules(server, name, out);
                out.println();
                printAdapters(server, name, out);
                out.println();
                out.printf(Locale.ROOT, "intercepted forwards: %d, suppressed errors: %d, transform errors: %d%n",
                        (Long) server.getAttribute(name, "InterceptedForwards"),
                        (Long) server.getAttribute(name, "SuppressedErrors"),
                        (Long) server.getAttribute(name, "TransformErrors"));
                String root = (String) server.getAttribute(name, "AdapterRoot");
                String dump = (String) server.getAttribute(name, "DumpDir");
                out.println("adapterRoot: " + (root.isEmpty() ? "(unset: load disabled)" : root) + ", dumpDir: "
                        + (dump.isEmpty() ? "(unset: dump disabled)" : dump));
                return;
            case "modules":
                printModules(server, name, out);
                return;
            case "adapters":
                printAdapters(server, name, out);
                return;
            default:
                break;
        }
        String operation;
        List<String> values = new ArrayList<>(args);
        if ("combine".equals(op)) {
            while (values.size() < 5) {
                values.add("");
            }
        }
        if ("tree".equals(op) && values.isEmpty()) {
            values.add("");
        }
        Object[] params = values.toArray();
        String[] signature = new String[values.size()];
        Arrays.fill(signature, String.class.getName());
        String arg = args.isEmpty() ? null : String.join(" ", args);
        switch (op) {
            case "disable":
                operation = "disableAdapters";
                break;
            case "enable":
                operation = "enableAdapters";
                break;
            case "remove":
                operation = "removeAll";
                break;
            default:
                operation = op;
        }
        try {
            Object result = server.invoke(name, operation, params, signature);
            String text = String.valueOf(result);
            out.println(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text);
        } catch (RuntimeMBeanException e) {
            throw new CommandFailure(op + (arg == null ? "" : " " + arg) + " failed in pid " + pid + ": "
                    + e.getTargetException().getMessage());
        } catch (MBeanException e) {
            throw new CommandFailure(op + " failed in pid " + pid + ": " + e.getTargetException());
        }
    }

    private static void printModules(MBeanServerConnection server, ObjectName name, PrintStream out)
            throws IOException, JMException {
        CompositeData[] rows = (CompositeData[]) server.getAttribute(name, "InjectedModules");
        List<String[]> table = new ArrayList<>();
        table.add(new String[] {"MODEL", "MODULE", "BLOCK", "ADAPTER", "TYPE", "RANK", "SCALING", "PARAMETERS"});
        for (CompositeData r : rows) {
            table.add(new String[] {str(r, "model"), str(r, "path"), str(r, "blockClass"), str(r, "adapterName"),
                str(r, "adapterType"), str(r, "rank"), str(r, "scaling"), str(r, "trainableParameters")});
        }
        print(table, out, "no module carries an adapter");
    }

    private static void printAdapters(MBeanServerConnection server, ObjectName name, PrintStream out)
            throws IOException, JMException {
        CompositeData[] rows = (CompositeData[]) server.getAttribute(name, "Adapters");
        List<String[]> table = new ArrayList<>();
        table.add(new String[] {"MODEL", "ADAPTER", "TYPE", "ACTIVE", "ENABLED", "MERGED", "PARAMETERS", "L2_NORM"});
        for (CompositeData r : rows) {
            table.add(new String[] {str(r, "model"), str(r, "name"), str(r, "type"), str(r, "active"),
                str(r, "enabled"), str(r, "merged"), str(r, "parameterCount"),
                String.format(Locale.ROOT, "%.6g", (Double) r.get("l2Norm"))});
        }
        print(table, out, "no adapters");
    }

    private static String str(CompositeData row, String key) {
        return String.valueOf(row.get(key));
    }

    private static void print(List<String[]> table, PrintStream out, String empty) {
        if (table.size() == 1) {
            out.println("(" + empty + ")");
            return;
        }
        int[] widths = new int[table.get(0).length];
        for (String[] row : table) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : table) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                sb.append(i == 0 ? "" : "  ").append(i == row.length - 1 ? row[i]
                        : String.format("%-" + widths[i] + "s", row[i]));
            }
            out.println(sb);
        }
    }

    /**
     * Starts (or finds) the target's local management agent.
     *
     * @return its connector address, and how peft4j was started there ({@code null} when it does not run)
     */
    static String[] localConnectorAddress(long pid) throws CommandFailure {
        VirtualMachine vm = AttachCommand.AttachSupport.attach(pid);
        try {
            String started = vm.getSystemProperties().getProperty(AttachCommand.STARTED_PROPERTY);
            return new String[] {vm.startLocalManagementAgent(), started};
        } catch (IOException e) {
            throw new CommandFailure("cannot start the local management agent in pid " + pid + ": " + e, e);
        } finally {
            AttachCommand.AttachSupport.detach(vm);
        }
    }
}

package io.peft4j.agent.cli;

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

/**
 * The operations of {@code jmx <pid> <operation>}, each run against the MXBean {@code io.peft4j:type=Adapters}
 * through an {@link MBeanServerConnection}: a JMX connection to the target ({@code --via-jmx}) or, inside the target,
 * a private MBean server holding the running agent's bean (the attach channel, {@link ChannelServer}). Both routes
 * run this same code, so they print the same text.
 *
 * <p>Adding an operation is one constant here: its command-line name, its arguments (text and count), its usage
 * lines and the MXBean operation it invokes (or an override of {@link #execute} for a formatted attribute).
 */
enum JmxOperation {

    LIST("list", "", 0, 0, null, "models, injected modules, adapters and counters") {
        @Override
        void execute(MBeanServerConnection server, ObjectName name, long pid, List<String> args, PrintStream out)
                throws IOException, JMException {
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
        }
    },
    MODULES("modules", "", 0, 0, null, "one line per model, module and adapter (rank, scaling, parameters)") {
        @Override
        void execute(MBeanServerConnection server, ObjectName name, long pid, List<String> args, PrintStream out)
                throws IOException, JMException {
            printModules(server, name, out);
        }
    },
    ADAPTERS("adapters", "", 0, 0, null, "one line per model and adapter (active, merged, parameters, L2 norm)") {
        @Override
        void execute(MBeanServerConnection server, ObjectName name, long pid, List<String> args, PrintStream out)
                throws IOException, JMException {
            printAdapters(server, name, out);
        }
    },
    TREE("tree", "[MODEL]", 0, 1, "tree", "every module path of each model (or of MODEL, an id such as Mlp#1) with",
            "its block class, parameter shapes and adapters: the names for target_modules"),
    ACTIVATE("activate", "NAMES", 1, 1, "activate", "activate adapters: 'a' or 'a+b'"),
    DISABLE("disable", "", 0, 0, "disableAdapters", "disable adapters (outputs equal the base model's)"),
    ENABLE("enable", "", 0, 0, "enableAdapters", "enable adapters again"),
    MERGE("merge", "", 0, 0, "merge", "merge the active adapters into the base weights"),
    UNMERGE("unmerge", "", 0, 0, "unmerge", "restore the base weights"),
    LOAD("load", "NAME", 1, 1, "load", "load adapterRoot/NAME into every model and activate it (hot swap); a model",
            "that has NAME already gets the new weights in place (PEFT hotswap_adapter)"),
    DUMP("dump", "NAME", 1, 1, "dump", "write adapter NAME to dumpDir/NAME"),
    COMBINE("combine", "NAME ADAPTERS WEIGHTS [TYPE [OPTIONS]]", 3, 5, "combine",
            "add_weighted_adapter: NAME = ADAPTERS (a+b) combined with WEIGHTS (0.7,0.3);",
            "TYPE: svd (default), linear, cat, ties, dare_linear, dare_ties, magnitude_prune,",
            "or an _svd form; OPTIONS: density=0.5,majority_sign_method=total,svd_rank=8,",
            "svd_clamp=0.99,seed=1. Not activated: then activate NAME"),
    REMOVE("remove", "", 0, 0, "removeAll", "disable and delete all adapters; no further model is adapted");

    /** The MXBean every operation acts on. */
    static final String OBJECT_NAME = "io.peft4j:type=Adapters";

    private final String cliName;
    private final String argumentText;
    private final int minArgs;
    private final int maxArgs;
    private final String mxbeanOperation;
    private final List<String> help;

    JmxOperation(String cliName, String argumentText, int minArgs, int maxArgs, String mxbeanOperation,
            String... help) {
        this.cliName = cliName;
        this.argumentText = argumentText;
        this.minArgs = minArgs;
        this.maxArgs = maxArgs;
        this.mxbeanOperation = mxbeanOperation;
        this.help = List.of(help);
    }

    /** The name on the command line. */
    String cliName() {
        return cliName;
    }

    /** The operation named {@code cliName}, or {@code null}. */
    static JmxOperation of(String cliName) {
        for (JmxOperation op : values()) {
            if (op.cliName.equals(cliName)) {
                return op;
            }
        }
        return null;
    }

    /**
     * Checks the number of arguments.
     *
     * @return {@code null} when right, else the message of the usage error
     */
    String checkArguments(List<String> args) {
        if (args.size() >= minArgs && args.size() <= maxArgs) {
            return null;
        }
        if (maxArgs == 0) {
            return "operation " + cliName + " takes no argument";
        }
        if (maxArgs == 1 && minArgs == 0) {
            return "operation " + cliName + " takes at most one argument (" + argumentText.replaceAll("[\\[\\]]", "")
                    + ")";
        }
        if (maxArgs == 1) {
            return "operation " + cliName + " takes one argument (" + argumentText + ")";
        }
        return "operation " + cliName + " takes " + argumentText;
    }

    /** The usage lines of every operation, as {@code jmx --help} prints them. */
    static List<String> usageLines() {
        List<String> lines = new ArrayList<>();
        for (JmxOperation op : values()) {
            String head = "  " + op.cliName + (op.argumentText.isEmpty() ? "" : " " + op.argumentText);
            if (head.length() > 19) {
                lines.add(head);
                op.help.forEach(h -> lines.add(" ".repeat(20) + h));
                continue;
            }
            lines.add(String.format(Locale.ROOT, "%-20s%s", head, op.help.get(0)));
            op.help.subList(1, op.help.size()).forEach(h -> lines.add(" ".repeat(20) + h));
        }
        return lines;
    }

    /** Every operation with its arguments, joined with {@code |}, as the top-level help lists them. */
    static String synopsis() {
        List<String> parts = new ArrayList<>();
        for (JmxOperation op : values()) {
            parts.add(op.cliName + (op.argumentText.isEmpty() ? "" : " " + op.argumentText));
        }
        return String.join(" | ", parts);
    }

    /**
     * Runs the operation and prints its result.
     *
     * @param server where the MXBean is registered
     * @param name the MXBean's name
     * @param pid the process the operation acts on, for messages
     * @param args the arguments, already checked with {@link #checkArguments}
     * @param out where the result goes
     * @throws CommandFailure when the MXBean refused the operation (its message)
     */
    void execute(MBeanServerConnection server, ObjectName name, long pid, List<String> args, PrintStream out)
            throws IOException, JMException, CommandFailure {
        List<String> values = new ArrayList<>(args);
        while (values.size() < maxArgs) {
            values.add("");
        }
        String[] signature = new String[values.size()];
        Arrays.fill(signature, String.class.getName());
        try {
            String text = String.valueOf(server.invoke(name, mxbeanOperation, values.toArray(), signature));
            out.println(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text);
        } catch (RuntimeMBeanException e) {
            throw new CommandFailure(cliName + (args.isEmpty() ? "" : " " + String.join(" ", args)) + " failed in pid "
                    + pid + ": " + e.getTargetException().getMessage());
        } catch (MBeanException e) {
            throw new CommandFailure(cliName + " failed in pid " + pid + ": " + e.getTargetException());
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
}

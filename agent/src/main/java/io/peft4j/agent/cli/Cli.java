package io.peft4j.agent.cli;

import io.peft4j.config.Suggestions;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar peft4j-agent.jar <command>}: {@code attach}, {@code inspect}, {@code jmx}, {@code merge},
 * {@code tree}, {@code combine}, {@code mkl-library}. Exit
 * status 0 when the command succeeded, 1 when it failed (the message names the pid, directory or option at fault), 2
 * for a usage error. {@code --help} after any command prints its usage.
 *
 * <p>This code runs without DJL on the class path: it only talks to other JVMs (attach API, JMX) and reads files;
 * {@code merge} loads DJL from the application's class path in a class loader of its own.
 */
public final class Cli {

    /** Exit status of success. */
    public static final int OK = 0;
    /** Exit status of a failed command. */
    public static final int FAILED = 1;
    /** Exit status of a usage error. */
    public static final int USAGE = 2;

    static final String USAGE_TEXT = String.join("\n",
            "usage: java -jar peft4j-agent.jar <command> [arguments]",
            "",
            "As an agent:  java -javaagent:peft4j-agent.jar=adapter=DIR[,key=value...] -cp APP MAIN",
            "              (every option with its meaning: java -jar peft4j-agent.jar help options)",
            "",
            "Commands:",
            "  attach <pid> [key=value,...]   inject adapters into a running JVM (no restart)",
            "  inspect <dir>                  print an adapter directory's config and tensors",
            "  merge --model F.pt --adapter DIR [--adapter DIR2 ...] --out OUT.pt [--format safetensors]",
            "                                 merge adapters into a TorchScript file offline (see merge --help)",
            "  tree --model F.pt|CLASS [--config DIR] [--classpath CP]",
            "                                 every module path of a model (for target_modules), offline",
            "  combine --adapter DIR --adapter DIR --weights W,W --out DIR [--type TYPE ...]",
            "                                 add_weighted_adapter offline: combine adapter directories",
            "  mkl-library FILE.so            write the library for LD_PRELOAD that makes libtorch's oneMKL choose",
            "                                 its kernels by CPU features on AMD (agent: mklCodePaths=features)",
            "  jmx [--via-jmx] <pid> <operation> [arg]",
            "                                 list or change the adapters of a running JVM (no port opened;",
            "                                 --via-jmx: through the JDK's local JMX connector, which opens one):",
            wrap(JmxOperation.synopsis(), 33, 100),
            "  help [command | options]       this text, a command's usage, or every agent option",
            "",
            "Exit status: 0 ok, 1 failure, 2 usage error.");

    private Cli() {}

    /** {@code text} in lines of at most {@code width} characters, each indented by {@code indent} spaces. */
    private static String wrap(String text, int indent, int width) {
        StringBuilder out = new StringBuilder();
        StringBuilder line = new StringBuilder(" ".repeat(indent));
        for (String word : text.split(" ")) {
            if (line.length() > indent && line.length() + 1 + word.length() > width) {
                out.append(line).append('\n');
                line = new StringBuilder(" ".repeat(indent));
            }
            line.append(line.length() > indent ? " " : "").append(word);
        }
        return out.append(line).toString();
    }

    /**
     * Runs one command.
     *
     * @param args the command line
     * @param out standard output
     * @param err standard error
     * @return the exit status
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE_TEXT);
            return USAGE;
        }
        String command = args[0];
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        Command c;
        switch (command) {
            case "attach":
                c = new AttachCommand();
                break;
            case "inspect":
                c = new InspectCommand();
                break;
            case "combine":
                c = new CombineCommand();
                break;
            case "jmx":
                c = new JmxCommand();
                break;
            case "merge":
                c = new MergeCommand();
                break;
            case "tree":
                c = new TreeCommand();
                break;
            case "mkl-library":
                c = new MklLibraryCommand();
                break;
            case "help":
            case "--help":
            case "-h":
                return help(rest, out);
            default:
                err.println("peft4j: unknown command '" + command + "'" + Suggestions.didYouMean(command, List.of(
                        "attach", "inspect", "merge", "tree", "combine", "jmx", "mkl-library", "help")) + "\n\n"
                        + USAGE_TEXT);
                return USAGE;
        }
        if (rest.contains("--help") || rest.contains("-h")) {
            out.println(c.usage());
            return OK;
        }
        try {
            c.run(rest, out);
            return OK;
        } catch (UsageException e) {
            err.println("peft4j " + command + ": " + e.getMessage() + "\n\n" + e.usage);
            return USAGE;
        } catch (CommandFailure e) {
            err.println("peft4j " + command + ": " + e.getMessage());
            return FAILED;
        } catch (RuntimeException | LinkageError e) {
            err.println("peft4j " + command + ": unexpected error: " + e);
            e.printStackTrace(err);
            return FAILED;
        }
    }

    private static int help(List<String> rest, PrintStream out) {
        if (!rest.isEmpty()) {
            switch (rest.get(0)) {
                case "attach":
                    out.println(new AttachCommand().usage());
                    return OK;
                case "inspect":
                    out.println(new InspectCommand().usage());
                    return OK;
                case "combine":
                    out.println(new CombineCommand().usage());
                    return OK;
                case "jmx":
                    out.println(new JmxCommand().usage());
                    return OK;
                case "merge":
                    out.println(new MergeCommand().usage());
                    return OK;
                case "tree":
                    out.println(new TreeCommand().usage());
                    return OK;
                case "mkl-library":
                    out.println(new MklLibraryCommand().usage());
                    return OK;
                case "options":
                    out.println(OptionsHelp.text());
                    return OK;
                default:
                    break;
            }
        }
        out.println(USAGE_TEXT);
        return OK;
    }

    /** One command. */
    interface Command {
        /** Its usage text. */
        String usage();

        /** Runs it with the arguments after the command name. */
        void run(List<String> args, PrintStream out) throws UsageException, CommandFailure;
    }

    /**
     * Splits {@code --option value} arguments into pairs, in order (an option may repeat).
     *
     * @throws UsageException for an argument that is not an option, or an option without a value
     */
    static List<Map.Entry<String, String>> optionPairs(List<String> args, String usage) throws UsageException {
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        for (int i = 0; i < args.size(); i += 2) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || i + 1 >= args.size()) {
                throw new UsageException(arg.startsWith("--") ? "option " + arg + " needs a value"
                        : "unexpected argument '" + arg + "'", usage);
            }
            pairs.add(Map.entry(arg, args.get(i + 1)));
        }
        return pairs;
    }

    /** Parses a process id. */
    static long pid(String text, String usage) throws UsageException {
        try {
            long pid = Long.parseLong(text);
            if (pid > 0) {
                return pid;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("'" + text + "' is not a process id", usage);
    }
}

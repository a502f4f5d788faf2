package io.peft4j.examples.demo;

import io.peft4j.examples.CommandLine;
import java.io.PrintStream;
import java.util.Map;

/**
 * The demo's driver: what {@code demo.sh} runs before and after the application's steps.
 *
 * <pre>
 * java -cp examples/target/classes:$(cat examples/target/demo-classpath.txt) io.peft4j.examples.demo.DemoDriver \
 *     prepare --out DIR [--rank R] [--alpha A] [--targets LIST] [--epochs N] [--lr X]
 * java ... DemoDriver report --out DIR [--elapsed SECONDS]
 * </pre>
 *
 * Exit status: 0 success, 1 error, 2 usage error, 3 {@code report} found a failed acceptance check.
 */
public final class DemoDriver {

    static final String USAGE = String.join("\n",
            "usage: DemoDriver <command> [options]",
            "  prepare --out DIR [--rank R] [--alpha A] [--targets LIST] [--epochs N] [--lr X]",
            "  report --out DIR [--elapsed SECONDS]");

    /** The exit status of {@code report} when a check failed. */
    public static final int CHECK_FAILED = 3;

    private static final Map<String, CommandLine.Command> COMMANDS = Map.of(
            "prepare", PrepareCommand::run,
            "report", ReportCommand::run);

    private DemoDriver() {}

    /**
     * Entry point; exits with the status {@link #run} returns.
     *
     * @param args the command and its options
     */
    public static void main(String[] args) {
        int status = run(System.out, System.err, args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Runs one command in this JVM.
     *
     * @param out where results go
     * @param err where errors go
     * @param args the command and its options
     * @return the exit status: 0 success, 1 error, 2 usage error, {@value #CHECK_FAILED} a check failed
     */
    public static int run(PrintStream out, PrintStream err, String... args) {
        return CommandLine.run("demo", USAGE, " (./demo.sh --help lists the options)", COMMANDS, out, err, args);
    }
}

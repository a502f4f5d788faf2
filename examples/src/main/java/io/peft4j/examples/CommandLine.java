package io.peft4j.examples;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * The shared shape of the demo's two main classes ({@link DigitsDemo}, the driver {@code DemoDriver}): a command name,
 * then its {@code --name value} options. Exit status: what the command returns (0 on success), 2 on a usage error, 1
 * on any other error.
 */
public final class CommandLine {

    /** One command. */
    @FunctionalInterface
    public interface Command {

        /**
         * Runs the command.
         *
         * @param options the arguments after the command's name
         * @param out where results go
         * @return the exit status, 0 on success
         * @throws Exception on any failure; a {@link UsageException} for a bad command line
         */
        int run(String[] options, PrintStream out) throws Exception;
    }

    private CommandLine() {}

    /**
     * Runs the command {@code args[0]} names ({@code -h}, {@code --help} and {@code help} print {@code usage}).
     *
     * @param program the name that starts error messages
     * @param usage the usage text, printed for help and after an unknown command
     * @param usageHint appended to a usage error's message: the usage text or where to find it
     * @param commands the commands by lower-case name
     * @param out where results go
     * @param err where errors go
     * @param args the command and its options
     * @return the exit status
     */
    public static int run(String program, String usage, String usageHint, Map<String, Command> commands,
            PrintStream out, PrintStream err, String... args) {
        if (args.length == 0) {
            err.println(usage);
            return 2;
        }
        String name = args[0].toLowerCase(Locale.ROOT);
        if (name.equals("-h") || name.equals("--help") || name.equals("help")) {
            out.println(usage);
            return 0;
        }
        try {
            Command command = commands.get(name);
            if (command == null) {
                throw new UsageException("unknown command '" + args[0] + "'");
            }
            return command.run(Arrays.copyOfRange(args, 1, args.length), out);
        } catch (UsageException e) {
            err.println(program + ": " + e.getMessage() + usageHint);
            return 2;
        } catch (Exception e) {
            err.println(program + ": error: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }
}

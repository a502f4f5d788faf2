package io.peft4j.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.peft4j.examples.DigitsDemo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.BiFunction;

/**
 * A command of the demo's driver or of the application run in this JVM, with its exit status and output.
 *
 * @param status the exit status the command returned
 * @param out what it printed to standard output
 * @param err what it printed to standard error
 */
record CommandRun(int status, String out, String err) {

    /** Runs {@code DemoDriver} with {@code args}. */
    static CommandRun driver(String... args) {
        return run((out, err) -> DemoDriver.run(out, err, args));
    }

    /** Runs the application, {@code DigitsDemo}, with {@code args}. */
    static CommandRun app(String... args) {
        return run((out, err) -> DigitsDemo.run(out, err, args));
    }

    /** Asserts the exit status, showing the output when it differs; returns this. */
    CommandRun expect(int expected) {
        assertEquals(expected, status, "exit status; output:\n" + out + err);
        return this;
    }

    private static CommandRun run(BiFunction<PrintStream, PrintStream, Integer> command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = command.apply(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new CommandRun(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}

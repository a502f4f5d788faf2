package io.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The application's command line. Its steps run, in demo.sh's order and with the agent, in
 * {@code io.peft4j.examples.demo.DemoAcceptanceTest}.
 */
class DigitsDemoTest {

    @Test
    void usageErrorsExitWithTwo() {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(2, DigitsDemo.run(quiet, quiet));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "bogus"));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "finetune", "--base"));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "pretrain", "--out", "x", "--shift", "upside-down"));
        assertEquals(2, DigitsDemo.run(quiet, quiet, "evaluate", "--base", "x", "--outt", "y"));
    }
}

package io.peft4j.examples;

import java.io.PrintStream;
import java.util.Map;

/**
 * The demo application: a plain DJL digits classifier, with one subcommand per step.
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.examples.DigitsDemo pretrain --out DIR
 * java ... DigitsDemo finetune --base DIR --out DIR [--epochs N] [--lr X]
 * java ... DigitsDemo evaluate --base DIR [--out DIR]
 * java -Djava.awt.headless=true ... DigitsDemo chart --lora FILE --full FILE --out PNG
 * </pre>
 *
 * Started with {@code -javaagent:peft4j-agent.jar=adapter=DIR[,save=OUT]}, the very same {@code finetune} trains a
 * LoRA adapter instead of every weight, and {@code evaluate} runs the base model with a saved adapter. Each step
 * writes its numbers to a {@code .properties} file ({@link ResultFile}); the demo's driver
 * ({@code io.peft4j.examples.demo.DemoDriver}) collects and checks them. See {@code demo.sh} at the repository root.
 */
public final class DigitsDemo {

    static final String USAGE = String.join("\n",
            "usage: DigitsDemo <command> [options]",
            "  pretrain --out DIR [--epochs N] [--lr X] [--batch N] [--seed N] [--shift mirror|rotate90]",
            "  finetune --base DIR --out DIR [--epochs N] [--lr X] [--batch N] [--seed N] [--shift ...]",
            "  evaluate --base DIR [--out DIR] [--shift ...]",
            "  chart --lora LOSS_CSV --full LOSS_CSV --out PNG");

    private static final Map<String, CommandLine.Command> COMMANDS = Map.of(
            "pretrain", PretrainCommand::run,
            "finetune", FinetuneCommand::run,
            "evaluate", EvaluateCommand::run,
            "chart", ChartCommand::run);

    private DigitsDemo() {}

    /**
     * Entry point; exits with 0 on success, 2 on a usage error, 1 on any other error.
     *
     * @param args the subcommand and its options
     */
    public static void main(String[] args) {
        int status = run(System.out, System.err, args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Runs one subcommand in this JVM.
     *
     * @param out where results go
     * @param err where errors go
     * @param args the subcommand and its options
     * @return the exit status: 0 success, 2 usage error, 1 other error
     */
    public static int run(PrintStream out, PrintStream err, String... args) {
        return CommandLine.run("DigitsDemo", USAGE, "\n" + USAGE, COMMANDS, out, err, args);
    }
}

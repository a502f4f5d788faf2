package io.peft4j.examples;

import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;

/** {@code chart --lora FILE --full FILE --out PNG}: both runs' {@code loss.csv} as curves in one PNG. */
final class ChartCommand {

    static final Set<String> OPTIONS = Set.of("--lora", "--full", "--out");

    private ChartCommand() {}

    static void run(String[] args, PrintStream out) throws Exception {
        CliOptions cli = new CliOptions(args, OPTIONS);
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        Path png = Paths.get(cli.require("--out"));
        LossChart.render(LossCsv.read(Paths.get(cli.require("--lora"))),
                LossCsv.read(Paths.get(cli.require("--full"))), png);
        out.println("wrote " + png);
    }
}

package io.peft4j.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;

/**
 * A minimal DJL application for the start-up measurement ({@link StartupHarness}): builds the 4-layer MLP, runs one
 * forward pass and prints {@code FIRST_FORWARD}; then checks (outside the timed part) that the pass was adapted as
 * the mode says and prints {@code CHECK_OK}.
 *
 * <p>Modes: {@code plain} (no peft4j: the unadapted baseline), {@code agent} (run under
 * {@code -javaagent:peft4j-agent.jar=adapter=benchmarks/adapters/lora-r8}: the agent injects LoRA at the first
 * forward), {@code api} (peft4j-core on the class path: {@code Peft.injectAdapter} before the forward).
 */
public final class FirstForwardApp {

    /** The line printed right after the first forward pass. */
    public static final String MARK = "FIRST_FORWARD";

    private FirstForwardApp() {}

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "plain";
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock mlp = Models.mlp(width);
            Models.initialize(mlp, manager, width);
            if (mode.equals("api")) {
                PeftCalls.injectLora(mlp, Setups.RANK, Setups.ALPHA, Models.MLP_LINEARS);
            }
            Models.forward(mlp, new ParameterStore(manager, false), manager, Models.input(manager, width));
            System.out.println(MARK);
            System.out.flush();
            switch (mode) {
                case "plain":
                    Jvm.PLAIN.require();
                    break;
                case "api":
                    Jvm.API.require();
                    break;
                case "agent":
                    Jvm.AGENT.require();
                    break;
                default:
                    throw new IllegalArgumentException("mode must be plain, agent or api: " + mode);
            }
            if (!mode.equals("plain")) {
                MlpForward.check(PeftCalls.tunedModules(mlp) == 4, "LoRA on the 4 Linear layers");
                MlpForward.check(PeftCalls.interceptedForwards() == 4, "the first forward was adapted");
                PeftCalls.requireNoAdviceErrors();
            }
            System.out.println("CHECK_OK");
        }
        System.exit(0);
    }
}

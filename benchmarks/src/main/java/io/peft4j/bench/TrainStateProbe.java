package io.peft4j.bench;

/**
 * Prints the trainable parameters and the measured Adam state of {@link TrainingRig} after two steps, and the DJL,
 * PyTorch and thread settings of the JVM: {@code TRAIN_STATE mode=... trainable=... all=... adamEntries=...
 * adamBytes=...} and {@link EngineInfo#line()}. Mode {@code full}
 * runs in a plain JVM, {@code lora} with peft4j-core on the class path.
 */
public final class TrainStateProbe {

    private TrainStateProbe() {}

    public static void main(String[] args) {
        boolean lora = args.length > 0 && args[0].equals("lora");
        (lora ? Jvm.API : Jvm.PLAIN).require();
        try (TrainingRig rig = new TrainingRig(1024, lora)) {
            rig.step();
            rig.step();
            System.out.println("TRAIN_STATE mode=" + (lora ? "lora" : "full") + " trainable=" + rig.trainableParameters()
                    + " all=" + rig.allParameters() + " adamEntries=" + rig.adamStateEntries() + " adamBytes="
                    + rig.adamStateBytes());
        }
        System.out.println(EngineInfo.line());
        System.exit(0);
    }
}

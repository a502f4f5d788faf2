package io.peft4j.examples;

/** The demo's default hyper-parameters: what {@code demo.sh} runs unless told otherwise. */
public final class Defaults {

    /** The domain shift fine-tuning adapts to. */
    public static final String SHIFT = "rotate90";

    /** Seed of DJL's engine (initialisation, batch shuffling). */
    public static final int SEED = 42;

    /** Samples per batch. */
    public static final int BATCH = 32;

    /** Pre-training epochs on the original digits. */
    public static final int PRETRAIN_EPOCHS = 30;

    /** Pre-training learning rate (Adam). */
    public static final float PRETRAIN_LR = 1e-3f;

    /** Fine-tuning epochs on the shifted digits. */
    public static final int FINETUNE_EPOCHS = 20;

    /** Fine-tuning learning rate (Adam), the same for full and LoRA fine-tuning. */
    public static final float FINETUNE_LR = 2e-3f;

    private Defaults() {}
}

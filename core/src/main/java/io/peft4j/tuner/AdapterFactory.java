package io.peft4j.tuner;

import ai.djl.nn.Block;
import io.peft4j.config.AdapterConfig;

/** Creates one adapter type (LoRA, IA3, AdaLoRA) for the DJL blocks it supports. */
public interface AdapterFactory {

    /** Whether this adapter type can adapt {@code block}. */
    boolean supports(Block block);

    /** The supported DJL block classes, for error messages. */
    String supportedBlocks();

    /** Checks config-level rules that need the model (e.g. IA3's feed-forward subset); throws to refuse. */
    default void validate(AdapterConfig config, java.util.List<String> targetedPaths) {}

    /**
     * Creates adapter {@code name} for {@code block} at {@code path}.
     *
     * @throws io.peft4j.config.PeftConfigException when the block's shape or settings rule the adapter out
     */
    ModuleAdapter create(AdapterConfig config, String name, String path, Block block);
}

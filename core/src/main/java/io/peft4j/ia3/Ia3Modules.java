package io.peft4j.ia3;

import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Conv3d;
import ai.djl.nn.core.Linear;
import io.peft4j.config.PeftConfigException;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;
import io.peft4j.match.TargetMatcher;

/** Creates IA3 adapters for Linear, Conv2d and Conv3d blocks (PEFT's {@code IA3Model}). */
final class Ia3Modules {

    /** The DJL block types IA3 can target. */
    static final String SUPPORTED = "ai.djl.nn.core.Linear, ai.djl.nn.convolutional.Conv2d, Conv3d";

    private static final PeftLog LOG = PeftLog.get(Ia3Modules.class);

    private Ia3Modules() {}

    /** Whether IA3 can adapt {@code block}. */
    static boolean supports(Block block) {
        return block instanceof Linear || block instanceof Conv2d || block instanceof Conv3d;
    }

    /**
     * Creates IA3 adapter {@code name} for {@code block} at {@code path}. (The subset rule between
     * {@code feedforward_modules} and {@code target_modules} is checked when the config is read.)
     *
     * @param layerFeedforward the module's {@code is_feedforward} when an IA3 adapter already sits on it (PEFT's
     *     {@code IA3Layer} fixes it with its first adapter and {@code update_layer} ignores the new config's
     *     {@code feedforward_modules}), or {@code null}
     */
    static ModuleAdapter create(IA3Config config, String name, String path, Block block, Boolean layerFeedforward) {
        if (!block.getDirectParameters().get("weight").isInitialized()) {
            throw new IllegalStateException("cannot inject into '" + path
                    + "': its weight is not initialised yet (initialise or load the model first)");
        }
        if (!supports(block)) {
            throw new PeftConfigException("Target module '" + path + "' (" + block.getClass().getName()
                    + ") is not supported. Currently, only the following modules are supported: " + SUPPORTED + ".");
        }
        boolean configured = TargetMatcher.isFeedforward(config.feedforwardModules(), path);
        boolean feedforward = layerFeedforward != null ? layerFeedforward : configured;
        if (feedforward != configured) {
            LOG.warn("IA3 adapter '{}' on '{}': the module is {} since its first IA3 adapter, so '{}' scales its {} "
                    + "although its feedforward_modules say otherwise (PEFT keeps the layer's is_feedforward)", name,
                    path, feedforward ? "feed-forward" : "not feed-forward", name, feedforward ? "input" : "output");
        }
        return new Ia3Adapter(name, block, feedforward, !(block instanceof Linear), config.initIa3Weights());
    }
}

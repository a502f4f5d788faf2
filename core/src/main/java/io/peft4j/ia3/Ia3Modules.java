package io.peft4j.ia3;

import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Conv3d;
import ai.djl.nn.core.Linear;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.IA3Config;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.TargetModules;
import io.peft4j.tuner.AdapterFactory;
import io.peft4j.tuner.ModuleAdapter;

import java.util.List;
import java.util.regex.Pattern;

/** Creates IA3 adapters for Linear, Conv2d and Conv3d blocks (PEFT's {@code IA3Model}). */
public final class Ia3Modules implements AdapterFactory {

    /** The DJL block types IA3 can target. */
    public static final String SUPPORTED = "ai.djl.nn.core.Linear, ai.djl.nn.convolutional.Conv2d, Conv3d";

    @Override
    public boolean supports(Block block) {
        return block instanceof Linear || block instanceof Conv2d || block instanceof Conv3d;
    }

    @Override
    public String supportedBlocks() {
        return SUPPORTED;
    }

    /**
     * Whether the module at {@code path} is a feed-forward module (PEFT's
     * {@code _check_target_module_feedforward}: a regex full-matches, a list entry is a suffix of the path).
     */
    public static boolean isFeedforward(IA3Config config, String path) {
        TargetModules ff = config.feedforwardModules();
        if (ff == null) {
            return false;
        }
        if (ff.isRegex()) {
            return Pattern.compile(ff.regex()).matcher(path).matches();
        }
        for (String name : ff.names()) {
            if (path.endsWith(name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void validate(AdapterConfig config, List<String> targetedPaths) {
        // The subset rule between feedforward_modules and target_modules is checked when the config is read.
    }

    @Override
    public ModuleAdapter create(AdapterConfig adapterConfig, String name, String path, Block block) {
        IA3Config config = (IA3Config) adapterConfig;
        if (!block.getDirectParameters().get("weight").isInitialized()) {
            throw new IllegalStateException("cannot inject into '" + path
                    + "': its weight is not initialised yet (initialise or load the model first)");
        }
        if (!supports(block)) {
            throw new PeftConfigException("Target module '" + path + "' (" + block.getClass().getName()
                    + ") is not supported. Currently, only the following modules are supported: " + SUPPORTED + ".");
        }
        return new Ia3Adapter(name, block, isFeedforward(config, path), !(block instanceof Linear),
                config.initIa3Weights());
    }
}

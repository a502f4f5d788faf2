package io.peft4j.lora;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import io.peft4j.config.LoraConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.match.TargetMatcher;
import io.peft4j.tuner.ModuleAdapter;

/** Creates the LoRA adapter that fits a targeted DJL block, with the rank and alpha its path selects. */
public final class LoraModules {

    /** The DJL block types LoRA can target, as listed in errors. */
    public static final String SUPPORTED = "ai.djl.nn.core.Linear";

    private LoraModules() {}

    /** Whether LoRA can adapt {@code block}. */
    public static boolean supports(Block block) {
        return block instanceof Linear;
    }

    /** The rank for the module at {@code path}: the first matching {@code rank_pattern} key, else {@code r}. */
    public static int rank(LoraConfig config, String path) {
        String key = TargetMatcher.findPatternKey(config.rankPattern().keySet(), path);
        return key == null ? config.r() : config.rankPattern().get(key);
    }

    /** The alpha for the module at {@code path}: the first matching {@code alpha_pattern} key, else lora_alpha. */
    public static double alpha(LoraConfig config, String path) {
        String key = TargetMatcher.findPatternKey(config.alphaPattern().keySet(), path);
        return key == null ? config.loraAlpha() : config.alphaPattern().get(key);
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public static double scaling(LoraConfig config, double alpha, int r) {
        return config.useRslora() ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** Creates the adapter named {@code name} for {@code block} at {@code path}. */
    public static ModuleAdapter create(LoraConfig config, String name, String path, Block block) {
        int r = rank(config, path);
        if (r <= 0) {
            throw new PeftConfigException("`r` should be a positive integer value but the value passed is " + r
                    + " (module '" + path + "')");
        }
        double alpha = alpha(config, path);
        double scaling = scaling(config, alpha, r);
        if (block instanceof Linear) {
            Parameter weight = block.getDirectParameters().get("weight");
            if (weight == null || !weight.isInitialized()) {
                throw new IllegalStateException("cannot inject into '" + path
                        + "': its weight is not initialised yet (initialise or load the model first)");
            }
            return new LoraLinear(name, weight, r, scaling, config.loraDropout(), config.initLoraWeights());
        }
        throw new PeftConfigException("Target module '" + path + "' (" + block.getClass().getName()
                + ") is not supported. Currently, only the following modules are supported: " + SUPPORTED + ".");
    }
}

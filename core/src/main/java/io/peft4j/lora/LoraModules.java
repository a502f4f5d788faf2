package io.peft4j.lora;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.transformer.IdEmbedding;
import io.peft4j.config.PeftConfigException;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;

/**
 * Creates the LoRA adapter that fits a targeted DJL block ({@code Linear}, {@code IdEmbedding} or an
 * {@code Embedding}, {@code Conv1d/2d/3d}), with the rank and alpha its path selects.
 */
public final class LoraModules {

    /** The DJL block types LoRA can target, as listed in errors. */
    public static final String SUPPORTED = "ai.djl.nn.core.Linear, ai.djl.nn.transformer.IdEmbedding, "
            + "ai.djl.nn.core.Embedding (and subclasses), ai.djl.nn.convolutional.Conv1d, Conv2d, Conv3d";

    private static final PeftLog LOG = PeftLog.get(LoraModules.class);

    private LoraModules() {}

    /** Whether LoRA can adapt {@code block}. */
    static boolean supports(Block block) {
        return block instanceof Linear || block instanceof IdEmbedding || block instanceof Embedding
                || block instanceof Convolution;
    }

    /** Creates LoRA adapter {@code name} for {@code block} at {@code path}. */
    static ModuleAdapter create(LoraConfig config, String name, String path, Block block) {
        int r = config.rankFor(path);
        if (r <= 0) {
            throw new PeftConfigException("`r` should be a positive integer value but the value passed is " + r
                    + " (module '" + path + "')");
        }
        double scaling = config.scalingFor(path);
        if (block instanceof Linear) {
            if (config.fanInFanOut()) {
                LOG.warn("fan_in_fan_out is set to True but the target module '{}' is a Linear; setting "
                        + "fan_in_fan_out to False", path);
            }
            if (config.useDora()) {
                Parameter bias = block.getDirectParameters().contains("bias")
                        ? block.getDirectParameters().get("bias") : null;
                return new DoraLinear(name, initialised(block, "weight", path), bias, r, scaling,
                        config.loraDropout(), config.initLoraWeights());
            }
            return new LoraLinear(name, initialised(block, "weight", path), r, scaling, config.loraDropout(),
                    config.initLoraWeights());
        }
        if (config.useDora()) {
            throw new PeftConfigException("use_dora: peft4j implements DoRA on Linear layers only; module '" + path
                    + "' is a " + block.getClass().getSimpleName());
        }
        if (block instanceof IdEmbedding || block instanceof Embedding) {
            return new LoraEmbedding(name, initialised(block, "embedding", path), r, scaling,
                    config.initLoraWeights());
        }
        if (block instanceof Convolution) {
            Convolution conv = (Convolution) block;
            initialised(block, "weight", path);
            if (r % conv.getGroups() != 0) {
                throw new PeftConfigException("Targeting a " + block.getClass().getSimpleName() + " with groups="
                        + conv.getGroups() + " and rank " + r + ". Currently, support is limited to conv layers "
                        + "where the rank is divisible by groups. Either choose a different rank or do not target "
                        + "this specific layer. (module '" + path + "')");
            }
            for (long d : conv.getDilation().getShape()) {
                if (d != 1) {
                    throw new PeftConfigException("module '" + path + "' is a dilated convolution (dilation "
                            + conv.getDilation() + "): PEFT builds lora_A without dilation, so its output would "
                            + "not line up with the base output; do not target this layer");
                }
            }
            if (conv.getGroups() > 1) {
                LOG.warn("LoRA adapter added to ConvNd layer with groups > 1 ('{}'). Merging is not supported.",
                        path);
            }
            return new LoraConvolution(name, conv, r, scaling, config.loraDropout(), config.initLoraWeights());
        }
        throw new PeftConfigException("Target module '" + path + "' (" + block.getClass().getName()
                + ") is not supported. Currently, only the following modules are supported: " + SUPPORTED + ".");
    }

    private static Parameter initialised(Block block, String parameter, String path) {
        Parameter p = block.getDirectParameters().get(parameter);
        if (p == null || !p.isInitialized()) {
            throw new IllegalStateException("cannot inject into '" + path + "': its " + parameter
                    + " is not initialised yet (initialise or load the model first)");
        }
        return p;
    }
}

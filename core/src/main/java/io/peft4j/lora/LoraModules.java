package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
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
        InitLoraWeights init = config.initLoraWeights();
        if (block instanceof Linear) {
            if (config.fanInFanOut()) {
                LOG.warn("fan_in_fan_out is set to True but the target module '{}' is a Linear; setting "
                        + "fan_in_fan_out to False", path);
            }
            Parameter weight = initialised(block, "weight", path);
            if (init.kind() == InitLoraWeights.Kind.PISSA && !init.randomized()
                    && weight.getArray().getShape().size() >= 1024L * 1024) {
                LOG.warn("init_lora_weights='pissa' on '{}' ({}): a full SVD in pure Java takes minutes at this size "
                        + "(about 13 s for 1024 x 1024, 40 min for 4096 x 4096 on a busy 2-core machine); "
                        + "'pissa_niter_4' takes seconds", path, weight.getArray().getShape());
            }
            long start = System.nanoTime();
            LoraLinear adapter;
            if (config.useDora()) {
                Parameter bias = block.getDirectParameters().contains("bias")
                        ? block.getDirectParameters().get("bias") : null;
                adapter = new DoraLinear(name, weight, bias, r, scaling, config.loraDropout(), init);
            } else {
                adapter = withLoraBias(config, path, block,
                        new LoraLinear(name, weight, r, scaling, config.loraDropout(), init), r);
            }
            if (init.changesBaseWeights()) {
                LOG.info("init_lora_weights={} on '{}' ({} x {}, r={}) took {} ms: its base weight is now the residual"
                        + " W - scaling * B @ A", init.pythonRepr(), path, weight.getArray().getShape().get(0),
                        weight.getArray().getShape().get(1), r, (System.nanoTime() - start) / 1_000_000);
            }
            return adapter;
        }
        if (init.kind() == InitLoraWeights.Kind.PISSA || init.kind() == InitLoraWeights.Kind.OLORA
                || init.kind() == InitLoraWeights.Kind.ORTHOGONAL) {
            if (block instanceof Convolution) {
                // PEFT's _ConvNd.update_layer passes the value to reset_lora_parameters, which raises this.
                throw new PeftConfigException("Unknown initialization init_lora_weights=" + init.pythonRepr()
                        + " (module '" + path + "': PEFT 0.20 implements it for Linear layers only)");
            }
            LOG.warn("init_lora_weights={} does not apply to the embedding '{}': as in PEFT 0.20, its LoRA starts "
                    + "with lora_embedding_A = 0 and lora_embedding_B ~ N(0, 1)", init.pythonRepr(), path);
        }
        if (block instanceof IdEmbedding || block instanceof Embedding) {
            if (config.loraBias()) {
                // LoRA's Embedding.update_layer: embeddings keep lora_embedding_B as a bare parameter
                throw new PeftConfigException("lora_bias=True is not supported for Embedding. (module '" + path
                        + "')");
            }
            Parameter table = initialised(block, "embedding", path);
            return config.useDora() ? new DoraEmbedding(name, table, r, scaling, config.initLoraWeights())
                    : new LoraEmbedding(name, table, r, scaling, config.initLoraWeights());
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
            boolean pointwise = true;
            for (long k : conv.getKernelShape().getShape()) {
                pointwise &= k == 1;
            }
            for (long d : conv.getDilation().getShape()) {
                // a 1x1 kernel reads one pixel: dilation changes nothing, and PEFT's lora_A gives the same output
                if (d != 1 && !pointwise) {
                    throw new PeftConfigException("module '" + path + "' is a dilated convolution (dilation "
                            + conv.getDilation() + "): PEFT builds lora_A without dilation, so its output would "
                            + "not line up with the base output; do not target this layer");
                }
            }
            if (config.useDora()) {
                if (conv.getGroups() > 1) {
                    throw new PeftConfigException("use_dora: module '" + path + "' is a grouped convolution (groups="
                            + conv.getGroups() + "); PEFT 0.20 computes DoRA's magnitude from a B @ A product that "
                            + "does not match a grouped layer, so peft4j refuses DoRA here; set use_dora=false or "
                            + "do not target this layer");
                }
                return new DoraConvolution(name, conv, r, scaling, config.loraDropout(), config.initLoraWeights());
            }
            if (conv.getGroups() > 1) {
                LOG.warn("LoRA adapter added to ConvNd layer with groups > 1 ('{}'). Merging is not supported.",
                        path);
            }
            return withLoraBias(config, path, block, new LoraConvolution(name, conv, r, scaling,
                    config.loraDropout(), config.initLoraWeights()), r / conv.getGroups());
        }
        throw new PeftConfigException("Target module '" + path + "' (" + block.getClass().getName()
                + ") is not supported. Currently, only the following modules are supported: " + SUPPORTED + ".");
    }

    /**
     * With {@code lora_bias}, gives the adapter's {@code lora_B} a bias as PEFT's {@code LoraLayer.update_layer}:
     * zeros for {@code init_lora_weights} true or "gaussian", else torch's default bias init
     * {@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))}; a base layer without bias gets PEFT's warning (merging will fail).
     *
     * @param fanIn lora_B's fan-in: r (Linear), r / groups (convolution)
     */
    private static <T extends LowRankFactors> T withLoraBias(LoraConfig config, String path, Block block, T adapter,
            int fanIn) {
        if (!config.loraBias()) {
            return adapter;
        }
        Parameter baseBias = block.getDirectParameters().contains("bias")
                ? block.getDirectParameters().get("bias") : null;
        if (baseBias == null || !baseBias.isInitialized()) {
            LOG.warn("`lora_bias=True` was passed but the targeted layer of type {} ('{}') has no bias. This means "
                    + "that merging LoRA weights won't be possible.", block.getClass().getSimpleName(), path);
            baseBias = null;
        }
        NDArray b = adapter.loraB().getArray();
        Shape shape = new Shape(b.getShape().get(0));
        float bound = (float) (1.0 / Math.sqrt(fanIn));
        NDArray bias = config.initLoraWeights() == InitLoraWeights.FALSE
                ? b.getManager().randomUniform(-bound, bound, shape, b.getDataType())
                : b.getManager().zeros(shape, b.getDataType());
        adapter.addLoraBBias(bias, baseBias);
        return adapter;
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

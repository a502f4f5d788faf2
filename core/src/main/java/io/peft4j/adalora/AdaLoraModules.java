package io.peft4j.adalora;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.peft4j.config.PeftConfigException;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.lora.InitLoraWeights;

import java.util.List;
import java.util.Map;

/**
 * Creates AdaLoRA adapters for Linear and Conv2d blocks (PEFT 0.20's {@code AdaLoraModel}: {@code SVDLinear},
 * {@code SVDConv2d}; like PEFT, no Conv1d, Conv3d or embeddings). The rank of each module is
 * {@code init_r}, or, for an adapter saved after rank allocation, the number of ranks its {@code rank_pattern} mask
 * keeps (PEFT's {@code resize_modules_by_rank_pattern}); as
 * in PEFT, that may be 0 ranks: the module then adds nothing.
 */
public final class AdaLoraModules {

    /** The DJL block types AdaLoRA can target, as listed in errors. */
    static final String SUPPORTED = "ai.djl.nn.core.Linear, ai.djl.nn.convolutional.Conv2d";

    private AdaLoraModules() {}

    /** Whether AdaLoRA can adapt {@code block}. */
    static boolean supports(Block block) {
        return block instanceof Linear || block instanceof Conv2d;
    }

    /** The {@code rank_pattern} key of the module at {@code path}: {@code path.lora_E}. */
    public static String maskKey(String path) {
        return path + ".lora_E";
    }

    /**
     * The module path a {@code rank_pattern} key of adapter {@code adapter} names: {@code fc1.lora_E} (as
     * {@code get_peft_model_state_dict} writes it) and {@code fc1.lora_E.default} (as the rank allocator names it,
     * in a config saved mid-training) both give {@code fc1}, as PEFT's {@code resize_modules_by_rank_pattern} reads
     * them. PEFT tests {@code adapter_name in name} as a substring; peft4j takes only a whole last segment (an
     * adapter called {@code lora} or {@code E} would make PEFT cut {@code fc1.lora_E} to the wrong module).
     */
    public static String modulePath(String key, String adapter) {
        String k = key.endsWith("." + adapter) ? key.substring(0, key.length() - adapter.length() - 1) : key;
        int dot = k.lastIndexOf('.');
        return dot < 0 ? "" : k.substring(0, dot);
    }

    /** The rank mask of the module at {@code path} in {@code masks} (keys with or without the adapter name). */
    static List<Boolean> mask(Map<String, List<Boolean>> masks, String path, String adapter) {
        if (masks == null) {
            return null;
        }
        for (Map.Entry<String, List<Boolean>> e : masks.entrySet()) {
            if (modulePath(e.getKey(), adapter).equals(path)) {
                return e.getValue();
            }
        }
        return null;
    }

    /**
     * {@code update_layer}'s scaling: {@code lora_alpha}, or the rank {@code r} when {@code lora_alpha <= 0}
     * ({@code self.scaling[adapter_name] = lora_alpha if lora_alpha > 0 else float(r)}).
     */
    static double scaling(double loraAlpha, int r) {
        return loraAlpha > 0 ? loraAlpha : r;
    }

    /** Creates AdaLoRA adapter {@code name} for the Linear or Conv2d {@code block} at {@code path}. */
    static ModuleAdapter create(AdaLoraConfig config, String name, String path, Block block) {
        int r = config.initR();
        List<Boolean> mask = mask(config.rankMasks(), path, name);
        if (mask != null) {
            r = (int) mask.stream().filter(Boolean::booleanValue).count();
        }
        if (r < 0) {
            throw new PeftConfigException("`r` should be a positive integer value but the value passed is " + r
                    + " (module '" + path + "')");
        }
        Parameter weight = block.getDirectParameters().get("weight");
        if (weight == null || !weight.isInitialized()) {
            throw new IllegalStateException("cannot inject into '" + path
                    + "': its weight is not initialised yet (initialise or load the model first)");
        }
        boolean init = config.initLoraWeights().kind() != InitLoraWeights.Kind.FALSE;
        if (block instanceof Conv2d) {
            Conv2d conv = (Conv2d) block;
            if (conv.getGroups() > 1) {
                throw new PeftConfigException("AdaLoRA cannot adapt module '" + path + "': it is a grouped Conv2d "
                        + "(groups=" + conv.getGroups() + "), and PEFT 0.20's SVDConv2d builds lora_A with in_channels"
                        + " * kh * kw columns, which does not reshape to a grouped kernel; do not target this layer");
            }
            return new SvdConv2d(name, conv, r, config.initR(), scaling(config.loraAlpha(), r), config.loraDropout(),
                    init);
        }
        return new SvdLinear(name, weight, r, config.initR(), scaling(config.loraAlpha(), r), config.loraDropout(),
                init);
    }
}

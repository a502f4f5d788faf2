package io.peft4j.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code LoraConfig}: low-rank adapters {@code W + (alpha / r) * B A} on the targeted layers.
 *
 * <p>Validated as PEFT 0.20's {@code LoraConfig.__post_init__} does, plus the checks PEFT only makes when the
 * adapter is injected ({@code bias} value, {@code r > 0}), so that a bad config fails when read. Not final only
 * because {@link AdaLoraConfig} extends it, as in PEFT; it cannot be extended outside this package.
 *
 * <pre>{@code
 * LoraConfig config = LoraConfig.builder().r(8).loraAlpha(16).targetModules(List.of("fc1")).build();
 * }</pre>
 */
public class LoraConfig extends AdapterConfig {

    private final int r;
    private final double loraAlpha;
    private final double loraDropout;
    private final LoraBias bias;
    private final boolean useRslora;
    private final InitLoraWeights initLoraWeights;
    private final boolean fanInFanOut;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final boolean loraBias;
    private final boolean useDora;

    LoraConfig(String source, Map<String, Object> json) {
        this(PeftType.LORA, source, json);
    }

    LoraConfig(PeftType type, String source, Map<String, Object> json) {
        super(type, source, json);
        this.r = integer("r");
        this.loraAlpha = number("lora_alpha");
        this.loraDropout = number("lora_dropout");
        this.useRslora = bool("use_rslora");
        this.initLoraWeights = InitLoraWeights.fromJson(value("init_lora_weights"));
        this.fanInFanOut = bool("fan_in_fan_out");
        this.loraBias = bool("lora_bias");
        this.useDora = bool("use_dora");
        this.rankPattern = type == PeftType.ADALORA ? ranksOfMasks(value("rank_pattern")) : intMap("rank_pattern");
        this.alphaPattern = doubleMap(value("alpha_pattern"));
        validatePostInit();
        String biasValue = string("bias");
        try {
            this.bias = LoraBias.fromJson(biasValue);
        } catch (IllegalArgumentException e) {
            throw peftError("bias", e.getMessage());
        }
        if (type == PeftType.LORA) {
            // LoraLayer.update_layer, for r and for every rank_pattern value
            if (r <= 0) {
                throw peftError("r", positiveRankMessage(r));
            }
            for (int patternRank : rankPattern.values()) {
                if (patternRank <= 0) {
                    throw peftError("rank_pattern", positiveRankMessage(patternRank));
                }
            }
        }
    }

    private static String positiveRankMessage(int r) {
        return "`r` should be a positive integer value but the value passed is " + r;
    }

    /** The checks of PEFT 0.20's {@code LoraConfig.__post_init__}, in its order. */
    private void validatePostInit() {
        Object targets = value("target_modules");
        Object layers = value("layers_to_transform");
        Object pattern = value("layers_pattern");
        if (targets instanceof String && layers != null) {
            throw peftError("layers_to_transform",
                    "`layers_to_transform` cannot be used when `target_modules` is a str.");
        }
        if (targets instanceof String && pattern != null) {
            throw peftError("layers_pattern", "`layers_pattern` cannot be used when `target_modules` is a str.");
        }
        // Python truthiness: layers_to_transform=0 counts as "not specified" here.
        if (truthy(pattern) && !truthy(layers)) {
            throw peftError("layers_pattern",
                    "When `layers_pattern` is specified, `layers_to_transform` must also be specified. ");
        }
        if (useDora && truthy(value("megatron_config"))) {
            throw peftError("use_dora", "DoRA does not support megatron_core, please set `use_dora=False`.");
        }
        Object init = value("init_lora_weights");
        if ("loftq".equals(init)) {
            if (!truthy(value("loftq_config"))) {
                throw peftError("loftq_config",
                        "`loftq_config` must be specified when `init_lora_weights` is 'loftq'.");
            }
        } else if (truthy(value("loftq_config"))) {
            warn("`loftq_config` specified but will be ignored when `init_lora_weights` is not 'loftq'.");
        } else if ("eva".equals(init) && value("eva_config") == null) {
            warn("`init_lora_weights` is 'eva' but `eva_config` is not specified. Using default EVA config.");
        } else if (!"eva".equals(init) && value("eva_config") != null) {
            warn("`eva_config` specified but will be ignored when `init_lora_weights` is not 'eva'.");
        } else if ("corda".equals(init) && value("corda_config") == null) {
            warn("`init_lora_weights` is 'corda' but `corda_config` is not specified. Using default CorDA config.");
        } else if (!"corda".equals(init) && value("corda_config") != null) {
            warn("`corda_config` specified but will be ignored when `init_lora_weights` is not 'corda'.");
        }
        if (loraBias) {
            if (!(init instanceof Boolean)) {
                throw peftError("lora_bias", "The argument lora_bias=True is only supported with "
                        + "init_lora_weights=True or False, got init_lora_weights=" + PythonRepr.str(init)
                        + " instead.");
            }
            if (useDora) {
                throw peftError("lora_bias",
                        "The argument lora_bias=True is not supported for DoRA, please pass use_dora=False");
            }
        }
        boolean convertsBaseWeights = init instanceof String
                && (((String) init).startsWith("pissa") || init.equals("olora") || init.equals("corda"));
        if (useRslora && (truthy(value("rank_pattern")) || truthy(value("alpha_pattern"))) && convertsBaseWeights) {
            warn("Using Rank-Stabilized LoRA with rank_pattern/alpha_pattern and post-training conversion of "
                    + "modified base weights PiSSA/CorDA/OLoRA means that you won't be able to pass "
                    + "`path_initial_model_for_weight_conversion` to `save_pretrained` to restore the initial values "
                    + "of the base weights; if you intend to do this, please ensure not to use rslora or "
                    + "rank_pattern/alpha_pattern.");
        }
    }

    private Map<String, Integer> intMap(String key) {
        Object v = value(key);
        Map<String, Integer> out = new LinkedHashMap<>();
        if (v != null) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put((String) e.getKey(), toInt(key, e.getValue()));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Integer> ranksOfMasks(Object v) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (v != null) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                int kept = 0;
                for (Object bit : (List<?>) e.getValue()) {
                    kept += Boolean.TRUE.equals(bit) ? 1 : 0;
                }
                out.put((String) e.getKey(), kept);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Double> doubleMap(Object v) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (v != null) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put((String) e.getKey(), ((Number) e.getValue()).doubleValue());
            }
        }
        return Collections.unmodifiableMap(out);
    }

    // ---------------------------------------------------------------- getters

    /**
     * Returns a builder starting from PEFT 0.20's {@code LoraConfig} defaults (r=8, lora_alpha=8, ...). It always
     * builds a {@code LoraConfig}; for AdaLoRA use {@link AdaLoraConfig#adaLoraBuilder()}.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns {@code r}, the rank of the adapters (AdaLoRA ignores it and uses {@code init_r}). */
    public final int r() {
        return r;
    }

    /** Returns {@code lora_alpha}; the scaling is {@code lora_alpha / r} ({@code / sqrt(r)} with rsLoRA). */
    public final double loraAlpha() {
        return loraAlpha;
    }

    /** Returns {@code lora_dropout}, the dropout probability on the adapter's input while training. */
    public final double loraDropout() {
        return loraDropout;
    }

    /** Returns {@code bias}: which biases train with the adapter. */
    public final LoraBias bias() {
        return bias;
    }

    /** Returns {@code use_rslora}: scaling {@code lora_alpha / sqrt(r)} instead of {@code lora_alpha / r}. */
    public final boolean useRslora() {
        return useRslora;
    }

    /**
     * Returns {@code init_lora_weights}, or {@code null} for a value peft4j does not implement (such configs
     * are rejected by {@link AdapterConfigs#checkSupported(AdapterConfig)}, so read or built configs never return
     * {@code null}).
     */
    public final InitLoraWeights initLoraWeights() {
        return initLoraWeights;
    }

    /** Returns {@code fan_in_fan_out}: the base weight is stored (in, out), as GPT-2's {@code Conv1D}. */
    public final boolean fanInFanOut() {
        return fanInFanOut;
    }

    /**
     * Returns {@code rank_pattern}: per-module ranks overriding {@code r}, keyed by PEFT pattern (see
     * {@code TargetMatcher.findPatternKey}), in config order; empty when {@code null}. For AdaLoRA, whose
     * {@code rank_pattern} holds masks, this is the number of ranks each mask keeps.
     */
    public final Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    /** Returns {@code alpha_pattern}: per-module alphas overriding {@code lora_alpha}, in config order. */
    public final Map<String, Double> alphaPattern() {
        return alphaPattern;
    }

    /** Returns {@code lora_bias}: whether {@code lora_B} has a bias. */
    public final boolean loraBias() {
        return loraBias;
    }

    /** Returns {@code use_dora}: weight-decomposed LoRA (DoRA). */
    public final boolean useDora() {
        return useDora;
    }

    // ---------------------------------------------------------------- copies

    /**
     * Returns a copy with {@code rank_pattern} replaced (insertion order kept).
     *
     * @throws PeftConfigException when a rank is not positive
     */
    public LoraConfig withRankPattern(Map<String, Integer> rankPattern) {
        return (LoraConfig) with("rank_pattern", rankPattern);
    }

    /** Returns a copy with {@code alpha_pattern} replaced (insertion order kept). */
    public LoraConfig withAlphaPattern(Map<String, ? extends Number> alphaPattern) {
        return (LoraConfig) with("alpha_pattern", alphaPattern);
    }

    @Override
    public LoraConfig copy() {
        return (LoraConfig) rebuild(toJsonMap());
    }

    @Override
    public LoraConfig withTargetModules(TargetModules targets) {
        return (LoraConfig) with("target_modules", targets == null ? null : targets.toJson());
    }

    @Override
    public LoraConfig withInferenceMode(boolean inferenceMode) {
        return (LoraConfig) with("inference_mode", inferenceMode);
    }

    @Override
    AdapterConfig rebuild(Map<String, Object> json) {
        return new LoraConfig(source(), json);
    }

    // ---------------------------------------------------------------- builders

    /**
     * Setters for the fields {@code LoraConfig} and {@code AdaLoraConfig} share.
     *
     * @param <C> the config class built
     * @param <B> the concrete builder
     */
    public abstract static class AbstractLoraBuilder<C extends LoraConfig, B extends AbstractLoraBuilder<C, B>>
            extends AbstractBuilder<C, B> {

        AbstractLoraBuilder(PeftType type) {
            super(type);
        }

        /** Sets {@code r}. */
        public B r(int r) {
            return set("r", r);
        }

        /** Sets {@code lora_alpha} to an integer, written as such ({@code 16}). */
        public B loraAlpha(int loraAlpha) {
            return set("lora_alpha", loraAlpha);
        }

        /** Sets {@code lora_alpha} to a float, written as such ({@code 16.0}). */
        public B loraAlpha(double loraAlpha) {
            return set("lora_alpha", loraAlpha);
        }

        /** Sets {@code lora_dropout}. */
        public B loraDropout(double loraDropout) {
            return set("lora_dropout", loraDropout);
        }

        /** Sets {@code bias}. */
        public B bias(LoraBias bias) {
            return set("bias", bias.jsonName());
        }

        /** Sets {@code use_rslora}. */
        public B useRslora(boolean useRslora) {
            return set("use_rslora", useRslora);
        }

        /** Sets {@code init_lora_weights}. */
        public B initLoraWeights(InitLoraWeights init) {
            return set("init_lora_weights", init.jsonValue());
        }

        /** Sets {@code fan_in_fan_out}. */
        public B fanInFanOut(boolean fanInFanOut) {
            return set("fan_in_fan_out", fanInFanOut);
        }

        /** Sets {@code rank_pattern} (for {@code LoraConfig}: pattern to rank). */
        public B rankPattern(Map<String, Integer> rankPattern) {
            return set("rank_pattern", rankPattern);
        }

        /** Sets {@code alpha_pattern}; integer values are written as integers, doubles as floats. */
        public B alphaPattern(Map<String, ? extends Number> alphaPattern) {
            return set("alpha_pattern", alphaPattern);
        }

        /** Sets {@code lora_bias}. */
        public B loraBias(boolean loraBias) {
            return set("lora_bias", loraBias);
        }

        /** Sets {@code use_dora}. */
        public B useDora(boolean useDora) {
            return set("use_dora", useDora);
        }

        /** Sets {@code layers_to_transform} to a list of layer indices. */
        public B layersToTransform(List<Integer> layers) {
            return set("layers_to_transform", layers);
        }

        /** Sets {@code layers_to_transform} to one layer index (written as a JSON integer). */
        public B layersToTransform(int layer) {
            return set("layers_to_transform", layer);
        }

        /** Sets {@code layers_pattern} to a list of layer-list names, e.g. {@code ["layers", "h"]}. */
        public B layersPattern(List<String> patterns) {
            return set("layers_pattern", patterns);
        }

        /** Sets {@code layers_pattern} to one layer-list name (written as a JSON string). */
        public B layersPattern(String pattern) {
            return set("layers_pattern", pattern);
        }
    }

    /** Builds a {@link LoraConfig}; start with {@link LoraConfig#builder()}. */
    public static final class Builder extends AbstractLoraBuilder<LoraConfig, Builder> {

        Builder() {
            super(PeftType.LORA);
        }

        @Override
        Builder self() {
            return this;
        }

        @Override
        LoraConfig create(String source, Map<String, Object> json) {
            return new LoraConfig(source, json);
        }
    }
}

package io.peft4j.lora;

import static io.peft4j.config.FieldKind.ANY;
import static io.peft4j.config.FieldKind.BOOLEAN;
import static io.peft4j.config.FieldKind.BOOLEAN_OR_STRING;
import static io.peft4j.config.FieldKind.INTEGER;
import static io.peft4j.config.FieldKind.INTEGER_LIST;
import static io.peft4j.config.FieldKind.INTEGER_MAP;
import static io.peft4j.config.FieldKind.INTEGER_OR_INTEGER_LIST;
import static io.peft4j.config.FieldKind.LIST;
import static io.peft4j.config.FieldKind.NUMBER;
import static io.peft4j.config.FieldKind.NUMBER_MAP;
import static io.peft4j.config.FieldKind.OBJECT;
import static io.peft4j.config.FieldKind.OBJECT_OR_LIST;
import static io.peft4j.config.FieldKind.STRING;
import static io.peft4j.config.FieldKind.STRING_LIST;
import static io.peft4j.config.FieldKind.STRING_OR_STRING_LIST;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;
import io.peft4j.config.PythonRepr;
import io.peft4j.config.TargetModules;
import io.peft4j.match.TargetMatcher;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code LoraConfig}: low-rank adapters {@code W + (alpha / r) * B A} on the targeted layers.
 *
 * <p>Validated as PEFT 0.20's {@code LoraConfig.__post_init__} does, plus the checks PEFT only makes when the
 * adapter is injected ({@code bias} value, {@code r > 0}), so that a bad config fails when read. Not final only
 * because {@code AdaLoraConfig} extends it, as in PEFT.
 *
 * <p>PEFT features peft4j does not implement are refused when the config is read or built (this is the one list of
 * them, for LoRA and AdaLoRA): {@code use_qalora}, {@code init_lora_weights} other than true, false, "gaussian",
 * "pissa", "pissa_niter_N", "olora" or "orthogonal" (LoftQ, EVA, CorDA, LoRA-GA, MiCA, ...; see
 * {@link InitLoraWeights}), {@code layer_replication}, {@code target_parameters},
 * {@code trainable_token_indices}, {@code alora_invocation_tokens}, {@code arrow_config}, {@code use_bdlora},
 * {@code lora_ga_config}, {@code monteclora_config} and {@code velora_config}. Allowed although peft4j does nothing
 * with them, as PEFT does nothing with them for plain (non-Megatron, non-quantized) models: {@code megatron_config},
 * {@code qalora_group_size}, and a {@code loftq_config}, {@code eva_config} or {@code corda_config} that PEFT ignores
 * because {@code init_lora_weights} does not ask for it (PEFT warns, and so does peft4j).
 *
 * <pre>{@code
 * LoraConfig config = LoraConfig.builder().r(8).loraAlpha(16).targetModules(List.of("fc1")).build();
 * }</pre>
 *
 * <p>Longer than most classes (about 480 lines) on purpose: PEFT's {@code LoraConfig} has 35 fields, each with its
 * schema entry, getter or builder setter, and {@code __post_init__}'s checks, kept together as in PEFT.
 */
public class LoraConfig extends AdapterConfig {

    /** The fields PEFT 0.20 writes for a {@code LoraConfig}. */
    public static final ConfigSchema SCHEMA = ConfigSchema.builder(PeftType.LORA, "LoraConfig")
            .field("r", INTEGER, false, 8L)
            .field("lora_alpha", NUMBER, false, 8L)
            .field("lora_dropout", NUMBER, false, 0.0)
            .field("fan_in_fan_out", BOOLEAN, false, false)
            .field("bias", STRING, false, "none")
            .field("use_rslora", BOOLEAN, false, false)
            .field("init_lora_weights", BOOLEAN_OR_STRING, false, true)
            .field("layers_to_transform", INTEGER_OR_INTEGER_LIST, true, null)
            .field("layers_pattern", STRING_OR_STRING_LIST, true, null)
            .field("rank_pattern", INTEGER_MAP, true, Map.of())
            .field("alpha_pattern", NUMBER_MAP, true, Map.of())
            .field("megatron_config", OBJECT, true, null)
            .field("megatron_core", STRING, true, "megatron.core")
            .field("trainable_token_indices", OBJECT_OR_LIST, true, null)
            .field("loftq_config", OBJECT, true, Map.of())
            .field("eva_config", OBJECT, true, null)
            .field("corda_config", OBJECT, true, null)
            .field("lora_ga_config", OBJECT, true, null)
            .field("use_dora", BOOLEAN, false, false)
            .field("velora_config", OBJECT, true, null)
            .field("alora_invocation_tokens", INTEGER_LIST, true, null)
            .field("use_qalora", BOOLEAN, false, false)
            .field("qalora_group_size", INTEGER, false, 16L)
            .field("monteclora_config", OBJECT, true, null)
            .field("layer_replication", LIST, true, null)
            .field("lora_bias", BOOLEAN, false, false)
            .field("target_parameters", STRING_LIST, true, null)
            .field("use_bdlora", ANY, true, null)
            .field("arrow_config", OBJECT, true, null)
            .field("ensure_weight_tying", BOOLEAN, false, false)
            .build();

    /** PEFT 0.20's warning for rsLoRA with rank/alpha patterns and an initialisation that changes base weights. */
    static final String RSLORA_PATTERN_CONVERSION_WARNING = "Using Rank-Stabilized LoRA with rank_pattern/alpha_pattern"
            + " and post-training conversion of modified base weights PiSSA/CorDA/OLoRA/LoRA-GA means that you won't "
            + "be able to pass `path_initial_model_for_weight_conversion` to `save_pretrained` to restore the initial "
            + "values of the base weights; if you intend to do this, please ensure not to use rslora or "
            + "rank_pattern/alpha_pattern.";

    /**
     * Opt-in switch for DoRA ({@code use_dora: true}), from before peft4j's layers implemented it; tests turn it off
     * to check the refusal.
     */
    static volatile boolean doraSupported = true;

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
        this(SCHEMA, source, json);
    }

    /** Decodes and validates a config of {@code schema}: this class's, or a subclass's that extends it. */
    protected LoraConfig(ConfigSchema schema, String source, Map<String, Object> json) {
        super(schema, source, json);
        this.r = integer("r");
        this.loraAlpha = number("lora_alpha");
        this.loraDropout = number("lora_dropout");
        this.useRslora = bool("use_rslora");
        try {
            this.initLoraWeights = InitLoraWeights.fromJson(value("init_lora_weights"));
        } catch (IllegalArgumentException e) {
            throw peftError("init_lora_weights", e.getMessage());
        }
        this.fanInFanOut = bool("fan_in_fan_out");
        this.loraBias = bool("lora_bias");
        this.useDora = bool("use_dora");
        this.rankPattern = decodeRankPattern(value("rank_pattern"));
        this.alphaPattern = doubleMap(value("alpha_pattern"));
        validatePostInit();
        validateNumbers();
        String biasValue = string("bias");
        try {
            this.bias = LoraBias.fromJson(biasValue);
        } catch (IllegalArgumentException e) {
            throw peftError("bias", e.getMessage());
        }
        if (schema == SCHEMA) {
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

    /**
     * Ranges of the numbers: {@code lora_dropout} is a probability (PEFT's {@code LoraLayer.update_layer} makes an
     * {@code nn.Dropout(p)} for {@code p > 0}, which torch refuses above 1; a negative or NaN {@code p} is silently
     * no dropout in PEFT, refused here as it can only be a mistake; 1 trains nothing, a warning), and
     * {@code lora_alpha} and the {@code alpha_pattern} values must be finite (NaN or Infinity would make every
     * output of the adapted layers NaN or Infinity).
     */
    private void validateNumbers() {
        Object dropout = value("lora_dropout");
        if (loraDropout > 1) {
            throw peftError("lora_dropout", "dropout probability has to be between 0 and 1, but got "
                    + PythonRepr.repr(dropout));
        }
        if (!(loraDropout >= 0)) {
            throw error("lora_dropout", "expected a probability in [0, 1), got " + PythonRepr.repr(dropout)
                    + " (PEFT would silently train without dropout)");
        }
        if (loraDropout == 1) {
            warn("lora_dropout=1.0 zeroes the adapter's input in every training step: the adapter gets no "
                    + "gradient and does not train (inference is unaffected)");
        }
        if (!Double.isFinite(loraAlpha)) {
            throw error("lora_alpha", "expected a finite number, got " + PythonRepr.repr(value("lora_alpha")));
        }
        alphaPattern.forEach((key, alpha) -> {
            if (!Double.isFinite(alpha)) {
                throw error("alpha_pattern", "expected finite numbers, got " + PythonRepr.repr(alpha) + " for '"
                        + key + "'");
            }
        });
    }

    @Override
    protected void checkInjectable() {
        // LoraModel._prepare_adapter_config (AdaLoraModel inherits it), with PEFT's missing space
        if (targetModules() == null && !truthy(jsonValue("target_parameters"))) {
            throw missingForDjl("target_modules", "Please specify `target_modules` or `target_parameters`"
                    + "in `peft_config`");
        }
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
        boolean convertsBaseWeights = init instanceof String && (((String) init).startsWith("pissa")
                || init.equals("olora") || init.equals("corda") || init.equals("lora_ga"));
        if (useRslora && (truthy(value("rank_pattern")) || truthy(value("alpha_pattern"))) && convertsBaseWeights) {
            warn(RSLORA_PATTERN_CONVERSION_WARNING);
        }
    }

    /**
     * Decodes {@code rank_pattern} (validated JSON) into ranks by pattern, for {@link #rankPattern()}. Called from
     * the constructor, before a subclass's fields are set.
     */
    protected Map<String, Integer> decodeRankPattern(Object v) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (v != null) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put((String) e.getKey(), toInt("rank_pattern", e.getValue()));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    protected void checkSupported() {
        if (useDora && !doraSupported) {
            throw unsupported("use_dora");
        }
        if (Boolean.TRUE.equals(jsonValue("use_qalora"))) {
            throw unsupported("use_qalora");
        }
        if (initLoraWeights == null) {
            throw unsupported("init_lora_weights");
        }
        for (String key : List.of("layer_replication", "trainable_token_indices", "alora_invocation_tokens",
                "arrow_config", "lora_ga_config", "monteclora_config", "velora_config")) {
            if (jsonValue(key) != null) {
                throw unsupported(key);
            }
        }
        if (truthy(jsonValue("target_parameters"))) {
            throw unsupported("target_parameters");
        }
        Object bdlora = jsonValue("use_bdlora");
        if (bdlora != null && !Boolean.FALSE.equals(bdlora)) {
            throw unsupported("use_bdlora");
        }
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
     * builds a {@code LoraConfig}; for AdaLoRA use {@code AdaLoraConfig.adaLoraBuilder()}.
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
     * are rejected when the config is read or built (see the class comment), so read or built configs never return
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

    /** The rank of the module at {@code path}: the first matching {@code rank_pattern} key, else {@code r}. */
    public final int rankFor(String path) {
        String key = TargetMatcher.findPatternKey(rankPattern.keySet(), path);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of the module at {@code path}: the first matching {@code alpha_pattern} key, else lora_alpha. */
    public final double alphaFor(String path) {
        String key = TargetMatcher.findPatternKey(alphaPattern.keySet(), path);
        return key == null ? loraAlpha : alphaPattern.get(key).doubleValue();
    }

    /** The scaling of the module at {@code path}: {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public final double scalingFor(String path) {
        int rank = rankFor(path);
        double alpha = alphaFor(path);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
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
    protected AdapterConfig rebuild(Map<String, Object> json) {
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

        /** Starts a builder of configs with {@code schema}. */
        protected AbstractLoraBuilder(ConfigSchema schema) {
            super(schema);
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
            super(SCHEMA);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected LoraConfig create(String source, Map<String, Object> json) {
            return new LoraConfig(source, json);
        }
    }
}

package io.peft4j.adalora;

import static io.peft4j.config.FieldKind.BOOLEAN_LIST_MAP;
import static io.peft4j.config.FieldKind.INTEGER;
import static io.peft4j.config.FieldKind.NUMBER;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftType;
import io.peft4j.config.PythonRepr;
import io.peft4j.config.TargetModules;
import io.peft4j.lora.LoraConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code AdaLoraConfig}: SVD-style adapters {@code B diag(E) A} whose rank budget shrinks from
 * {@code init_r} towards {@code target_r} during training.
 *
 * <p>Like PEFT's class it extends {@link LoraConfig} and runs LoRA's validation first, then AdaLoRA's (in PEFT
 * 0.20's order): no DoRA, no LoftQ, {@code total_step > 0}, and a non-empty budgeting phase
 * ({@code tinit < total_step - tfinal}). {@code r} is ignored (a warning when it is not 8); {@code init_r} is the
 * starting rank.
 *
 * <p>Unlike LoRA's, AdaLoRA's {@code rank_pattern} is written by training: it maps a parameter name such as
 * {@code "fc1.lora_E"} to the mask of ranks kept ({@code [true, false, ...]}), see {@link #rankMasks()}.
 */
public final class AdaLoraConfig extends LoraConfig {

    /** The fields PEFT 0.20 writes for an {@code AdaLoraConfig}: LoRA's, AdaLoRA's, and masks as rank_pattern. */
    public static final ConfigSchema SCHEMA = LoraConfig.SCHEMA.extend(PeftType.ADALORA, "AdaLoraConfig")
            .field("target_r", INTEGER, false, 8L)
            .field("init_r", INTEGER, false, 12L)
            .field("tinit", INTEGER, false, 0L)
            .field("tfinal", INTEGER, false, 0L)
            .field("deltaT", INTEGER, false, 1L)
            .field("beta1", NUMBER, false, 0.85)
            .field("beta2", NUMBER, false, 0.85)
            .field("orth_reg_weight", NUMBER, false, 0.5)
            .field("total_step", INTEGER, true, null)
            // AdaLoRA's rank_pattern maps "<module>.lora_E" to the mask of kept ranks, and defaults to None.
            .field("rank_pattern", BOOLEAN_LIST_MAP, true, null)
            .build();

    /**
     * The {@code f"{self.peft_type}"} prefix of AdaLoRA's messages: {@code PeftType} is a {@code (str, Enum)}, which
     * Python 3.11 and later format as {@code PeftType.ADALORA} (3.10 printed {@code ADALORA}).
     */
    private static final String PEFT_TYPE_IN_MESSAGES = "PeftType.ADALORA";

    private final int targetR;
    private final int initR;
    private final int tinit;
    private final int tfinal;
    private final int deltaT;
    private final double beta1;
    private final double beta2;
    private final double orthRegWeight;
    private final Integer totalStep;
    private final Map<String, List<Boolean>> rankMasks;

    AdaLoraConfig(String source, Map<String, Object> json) {
        super(SCHEMA, source, json);
        this.targetR = integer("target_r");
        this.initR = integer("init_r");
        this.tinit = integer("tinit");
        this.tfinal = integer("tfinal");
        this.deltaT = integer("deltaT");
        this.beta1 = number("beta1");
        this.beta2 = number("beta2");
        this.orthRegWeight = number("orth_reg_weight");
        this.totalStep = nullableInteger("total_step");
        this.rankMasks = masks(value("rank_pattern"));

        if (useDora()) {
            throw peftError("use_dora", PEFT_TYPE_IN_MESSAGES + " does not support DoRA.");
        }
        // LoraConfig.__post_init__ has already reset loftq_config to {} unless init_lora_weights is "loftq".
        if ("loftq".equals(value("init_lora_weights")) && truthy(value("loftq_config"))) {
            throw peftError("loftq_config", PEFT_TYPE_IN_MESSAGES + " does not support LOFTQ.");
        }
        if (r() != 8) {
            warn("Note that `r` is not used in AdaLora and will be ignored."
                    + "If you intended to set the initial rank, use `init_r` instead.");
        }
        if (totalStep == null || totalStep <= 0) {
            throw peftError("total_step", "AdaLoRA does not work when `total_step` is None, supply a value > 0.");
        }
        if (orthRegWeight < 0) {
            throw peftError("orth_reg_weight", "`orth_reg_weight` should be greater than or equal to 0, but the "
                    + "value passed is " + PythonRepr.repr(value("orth_reg_weight")));
        }
        if (tinit >= totalStep - tfinal) {
            throw peftError("tinit", "The supplied schedule values don't allow for a budgeting phase. "
                    + "Decrease `tfinal`/`tinit` or increase `total_step`.");
        }
        if (targetR >= initR) {
            warn("target_r (" + targetR + ") is not below init_r (" + initR + "): the rank budget cannot shrink, "
                    + "and PEFT's RankAllocator.mask_to_budget fails at its first masking step (torch.kthvalue with "
                    + "k <= 0); so does peft4j's. Inference with this adapter works.");
        }
        // AdaLoraLayer.update_layer (r == 0 is allowed for AdaLoRA)
        if (initR < 0) {
            throw peftError("init_r", "`r` should be a positive integer or 0, but the value passed is " + initR);
        }
    }

    /** AdaLoRA's {@code rank_pattern} holds masks: the rank of an entry is the number of ranks its mask keeps. */
    @Override
    protected Map<String, Integer> decodeRankPattern(Object v) {
        Map<String, Integer> out = new LinkedHashMap<>();
        masks(v).forEach((key, mask) -> out.put(key, (int) mask.stream().filter(Boolean::booleanValue).count()));
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, List<Boolean>> masks(Object v) {
        Map<String, List<Boolean>> out = new LinkedHashMap<>();
        if (v != null) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                List<Boolean> mask = new ArrayList<>();
                for (Object bit : (List<?>) e.getValue()) {
                    mask.add((Boolean) bit);
                }
                out.put((String) e.getKey(), List.copyOf(mask));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Returns a builder starting from PEFT 0.20's {@code AdaLoraConfig} defaults; {@code totalStep} is required.
     * (Named so because the inherited {@code AdaLoraConfig.builder()} is {@link LoraConfig#builder()}, which
     * builds a plain {@link LoraConfig}.)
     */
    public static Builder adaLoraBuilder() {
        return new Builder();
    }

    /** Returns {@code target_r}, the average rank the budget shrinks to. */
    public int targetR() {
        return targetR;
    }

    /** Returns {@code init_r}, the rank every adapter starts with. */
    public int initR() {
        return initR;
    }

    /** Returns {@code tinit}, the warm-up steps before the budget starts to shrink. */
    public int tinit() {
        return tinit;
    }

    /** Returns {@code tfinal}, the final steps with a fixed budget. */
    public int tfinal() {
        return tfinal;
    }

    /** Returns {@code deltaT}, the steps between two budget allocations. */
    public int deltaT() {
        return deltaT;
    }

    /** Returns {@code beta1}, the EMA factor of the sensitivity. */
    public double beta1() {
        return beta1;
    }

    /** Returns {@code beta2}, the EMA factor of the uncertainty. */
    public double beta2() {
        return beta2;
    }

    /** Returns {@code orth_reg_weight}, the weight of the orthogonality regulariser. */
    public double orthRegWeight() {
        return orthRegWeight;
    }

    /** Returns {@code total_step}, the planned training steps (never {@code null} in a valid config). */
    public Integer totalStep() {
        return totalStep;
    }

    /**
     * Returns {@code rank_pattern} as PEFT's AdaLoRA writes it: parameter name (e.g. {@code "fc1.lora_E"}) to the
     * mask of kept ranks; empty when {@code null} (no allocation has happened). {@link #rankPattern()} gives the
     * number of kept ranks per entry.
     */
    public Map<String, List<Boolean>> rankMasks() {
        return rankMasks;
    }

    /** Returns a copy with {@code rank_pattern} set to the given rank masks ({@code null} clears it). */
    public AdaLoraConfig withRankMasks(Map<String, List<Boolean>> masks) {
        return (AdaLoraConfig) with("rank_pattern", masks);
    }

    /**
     * Not available for AdaLoRA, whose {@code rank_pattern} holds masks rather than ranks.
     *
     * @throws UnsupportedOperationException always; use {@link #withRankMasks(Map)}
     */
    @Override
    public LoraConfig withRankPattern(Map<String, Integer> rankPattern) {
        throw new UnsupportedOperationException(
                "AdaLoRA's rank_pattern maps parameter names to rank masks; use withRankMasks");
    }

    @Override
    public AdaLoraConfig copy() {
        return (AdaLoraConfig) rebuild(toJsonMap());
    }

    @Override
    public AdaLoraConfig withTargetModules(TargetModules targets) {
        return (AdaLoraConfig) with("target_modules", targets == null ? null : targets.toJson());
    }

    @Override
    public AdaLoraConfig withInferenceMode(boolean inferenceMode) {
        return (AdaLoraConfig) with("inference_mode", inferenceMode);
    }

    @Override
    public AdaLoraConfig withAlphaPattern(Map<String, ? extends Number> alphaPattern) {
        return (AdaLoraConfig) with("alpha_pattern", alphaPattern);
    }

    @Override
    protected AdapterConfig rebuild(Map<String, Object> json) {
        return new AdaLoraConfig(source(), json);
    }

    /** Builds an {@link AdaLoraConfig}; start with {@link AdaLoraConfig#adaLoraBuilder()}. */
    public static final class Builder extends AbstractLoraBuilder<AdaLoraConfig, Builder> {

        Builder() {
            super(SCHEMA);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected AdaLoraConfig create(String source, Map<String, Object> json) {
            return new AdaLoraConfig(source, json);
        }

        /** Sets {@code target_r}. */
        public Builder targetR(int targetR) {
            return set("target_r", targetR);
        }

        /** Sets {@code init_r}. */
        public Builder initR(int initR) {
            return set("init_r", initR);
        }

        /** Sets {@code tinit}. */
        public Builder tinit(int tinit) {
            return set("tinit", tinit);
        }

        /** Sets {@code tfinal}. */
        public Builder tfinal(int tfinal) {
            return set("tfinal", tfinal);
        }

        /** Sets {@code deltaT}. */
        public Builder deltaT(int deltaT) {
            return set("deltaT", deltaT);
        }

        /** Sets {@code beta1}. */
        public Builder beta1(double beta1) {
            return set("beta1", beta1);
        }

        /** Sets {@code beta2}. */
        public Builder beta2(double beta2) {
            return set("beta2", beta2);
        }

        /** Sets {@code orth_reg_weight}. */
        public Builder orthRegWeight(double orthRegWeight) {
            return set("orth_reg_weight", orthRegWeight);
        }

        /** Sets {@code total_step} ({@code null} is rejected when built, as by PEFT). */
        public Builder totalStep(Integer totalStep) {
            return set("total_step", totalStep);
        }

        /** Sets {@code rank_pattern} to rank masks (parameter name to kept-rank mask). */
        public Builder rankMasks(Map<String, List<Boolean>> masks) {
            return set("rank_pattern", masks);
        }
    }
}

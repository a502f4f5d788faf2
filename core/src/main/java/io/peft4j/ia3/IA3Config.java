package io.peft4j.ia3;

import static io.peft4j.config.FieldKind.BOOLEAN;
import static io.peft4j.config.FieldKind.STRING_OR_STRING_LIST;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftType;
import io.peft4j.config.TargetModules;

import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code IA3Config}: (IA)³ learned vectors that rescale the targeted layers' outputs, or their inputs for
 * the {@code feedforward_modules}.
 *
 * <p>Validated as PEFT 0.20's {@code IA3Config.__post_init__}: when both {@code target_modules} and
 * {@code feedforward_modules} are lists, the latter must be a subset of the former (compared as sets of names;
 * nothing is checked when either is a regular expression). IA3 has no {@code layers_to_transform}.
 */
public final class IA3Config extends AdapterConfig {

    /** The fields PEFT 0.20 writes for an {@code IA3Config}. */
    public static final ConfigSchema SCHEMA = ConfigSchema.builder(PeftType.IA3, "IA3Config")
            .field("feedforward_modules", STRING_OR_STRING_LIST, true, null)
            .field("fan_in_fan_out", BOOLEAN, false, false)
            .field("init_ia3_weights", BOOLEAN, false, true)
            .build();

    private final TargetModules feedforwardModules;
    private final boolean fanInFanOut;
    private final boolean initIa3Weights;

    IA3Config(String source, Map<String, Object> json) {
        super(SCHEMA, source, json);
        this.feedforwardModules = targets("feedforward_modules");
        this.fanInFanOut = bool("fan_in_fan_out");
        this.initIa3Weights = bool("init_ia3_weights");
        if (value("feedforward_modules") instanceof List && value("target_modules") instanceof List
                && !new HashSet<>(targetModules().names()).containsAll(feedforwardModules.names())) {
            throw peftError("feedforward_modules", "`feedforward_modules` should be a subset of `target_modules`");
        }
    }

    /** PEFT's {@code IA3Model._prepare_adapter_config}: both module lists must be given for a DJL model. */
    @Override
    protected void checkInjectable() {
        super.checkInjectable();
        if (feedforwardModules == null) {
            throw missingForDjl("feedforward_modules", "Please specify `feedforward_modules` in `peft_config`");
        }
    }

    /** Returns a builder starting from PEFT 0.20's {@code IA3Config} defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns {@code feedforward_modules}, or {@code null}: the targeted modules whose input, not output, is
     * rescaled. Note PEFT's rule for them differs from {@code target_modules}: a list entry matches any module
     * name that merely ends with it (no {@code "."} boundary).
     */
    public TargetModules feedforwardModules() {
        return feedforwardModules;
    }

    /** Returns {@code fan_in_fan_out}. */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** Returns {@code init_ia3_weights}: vectors start at 1 (the identity) when true. */
    public boolean initIa3Weights() {
        return initIa3Weights;
    }

    @Override
    public IA3Config copy() {
        return (IA3Config) rebuild(toJsonMap());
    }

    @Override
    public IA3Config withTargetModules(TargetModules targets) {
        return (IA3Config) with("target_modules", targets == null ? null : targets.toJson());
    }

    /** This config with {@code feedforward_modules} replaced. */
    public IA3Config withFeedforwardModules(TargetModules modules) {
        return (IA3Config) with("feedforward_modules", modules == null ? null : modules.toJson());
    }

    @Override
    public IA3Config withInferenceMode(boolean inferenceMode) {
        return (IA3Config) with("inference_mode", inferenceMode);
    }

    @Override
    protected AdapterConfig rebuild(Map<String, Object> json) {
        return new IA3Config(source(), json);
    }

    /** Builds an {@link IA3Config}; start with {@link IA3Config#builder()}. */
    public static final class Builder extends AbstractBuilder<IA3Config, Builder> {

        Builder() {
            super(SCHEMA);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected IA3Config create(String source, Map<String, Object> json) {
            return new IA3Config(source, json);
        }

        /** Sets {@code feedforward_modules} to a list of module names. */
        public Builder feedforwardModules(List<String> names) {
            return set("feedforward_modules", TargetModules.ofNames(names).toJson());
        }

        /** Sets {@code feedforward_modules} to a regular expression. */
        public Builder feedforwardModules(String regex) {
            return set("feedforward_modules", TargetModules.ofRegex(regex).toJson());
        }

        /** Sets {@code fan_in_fan_out}. */
        public Builder fanInFanOut(boolean fanInFanOut) {
            return set("fan_in_fan_out", fanInFanOut);
        }

        /** Sets {@code init_ia3_weights}. */
        public Builder initIa3Weights(boolean initIa3Weights) {
            return set("init_ia3_weights", initIa3Weights);
        }
    }
}

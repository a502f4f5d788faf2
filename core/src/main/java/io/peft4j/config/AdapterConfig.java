package io.peft4j.config;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The fields every PEFT adapter config shares ({@code PeftConfig}), as an immutable view of the JSON it was made
 * from.
 *
 * <p>A config keeps every key of its JSON, including the ones peft4j does not interpret ({@code task_type},
 * {@code peft_version}, {@code loftq_config}, ...) and keys PEFT 0.20 does not know, so that
 * {@link AdapterConfigs#write(AdapterConfig, java.nio.file.Path)} reproduces what was read. Keys PEFT 0.20 writes
 * but the JSON lacked are filled with PEFT's defaults, as PEFT's {@code from_pretrained} then
 * {@code save_pretrained} would. The typed getters are decoded from that JSON once, when the config is made; a
 * changed config is a new object ({@code with...} methods).
 *
 * <p>Instances come from {@link AdapterConfigs#read(java.nio.file.Path)}, {@link AdapterConfigs#parse(String,
 * String)} or the builders of each method's config class ({@code io.peft4j.lora.LoraConfig},
 * {@code io.peft4j.adalora.AdaLoraConfig}, {@code io.peft4j.ia3.IA3Config}). A method's config class extends this
 * one with its {@link ConfigSchema}, its typed getters and its validation, using the protected helpers below.
 *
 * <p>Longer than most classes (about 440 lines) on purpose: it is the protected toolkit every method's config class
 * is written with (JSON decoding, errors, copies) plus the builder base, and splitting it would spread one
 * contract over several public types.
 */
public abstract class AdapterConfig {

    private final ConfigSchema schema;
    private final String source;
    private final Map<String, Object> json;
    /** The keys the JSON (or builder) gave, before PEFT's defaults were filled in. */
    private final Set<String> givenKeys;
    private final List<String> unknownKeys;
    /** Warnings found while validating; emitted once by {@link AdapterConfigs} when the config is read or built. */
    final List<String> warnings = new ArrayList<>();

    private final TargetModules targetModules;
    private final TargetModules excludeModules;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
    private final List<String> modulesToSave;
    private final boolean inferenceMode;

    /**
     * Checks {@code input} against the fields of {@code schema}, fills absent fields with PEFT's defaults and decodes
     * the common fields; the subclass's constructor then decodes and validates its own.
     *
     * @param source names the config in messages: a file path, or a builder's name
     * @throws PeftConfigException when a field has the wrong JSON type or an invalid value
     */
    protected AdapterConfig(ConfigSchema schema, String source, Map<String, Object> input) {
        this.schema = schema;
        this.source = source;
        PeftType type = schema.peftType();
        Map<String, FieldSpec> fields = schema.fields();
        Map<String, Object> map = new LinkedHashMap<>();
        this.givenKeys = Set.copyOf(input.keySet());
        for (Map.Entry<String, Object> e : input.entrySet()) {
            map.put(e.getKey(), JsonValues.normalize(e.getValue()));
        }
        if (!type.jsonName().equals(map.get("peft_type"))) {
            throw new PeftConfigException(source, "peft_type", "expected \"" + type.jsonName() + "\" for "
                    + schema.className() + ", got " + JsonValues.describe(map.get("peft_type")));
        }
        for (FieldSpec spec : fields.values()) {
            if (!map.containsKey(spec.name())) {
                map.put(spec.name(), spec.defaultValue());
            }
        }
        TreeSet<String> unknown = new TreeSet<>();
        for (Map.Entry<String, Object> e : map.entrySet()) {
            FieldSpec spec = fields.get(e.getKey());
            if (spec == null) {
                unknown.add(e.getKey());
            } else if (!spec.accepts(e.getValue())) {
                throw new PeftConfigException(source, e.getKey(),
                        "expected " + spec.expected() + ", got " + JsonValues.describe(e.getValue()));
            }
        }
        this.json = Collections.unmodifiableMap(map);
        this.unknownKeys = List.copyOf(unknown);
        if (!unknown.isEmpty()) {
            String them = unknown.size() == 1 ? "it" : "them";
            warn(schema.unknownKeysNote(unknown) + ": PEFT " + ConfigSchema.PEFT_VERSION + " does not define " + them
                    + "; peft4j ignores " + them + " but keeps " + them + " when writing the config back");
        }

        Object taskType = map.get("task_type");
        if (taskType != null && !ConfigSchema.TASK_TYPES.contains(taskType)) {
            throw PeftConfigException.peft(source, "task_type", "Invalid task type: '" + taskType
                    + "'. Must be one of the following task types: " + String.join(", ", ConfigSchema.TASK_TYPES)
                    + ".");
        }
        this.targetModules = targets("target_modules");
        this.excludeModules = targets("exclude_modules");
        // only where the config class defines them (IA3's does not: there they are unknown keys, ignored as in PEFT)
        this.layersToTransform = fields.containsKey("layers_to_transform")
                ? decodeLayersToTransform(map.get("layers_to_transform")) : null;
        this.layersPattern = fields.containsKey("layers_pattern") ? decodeLayersPattern(map.get("layers_pattern"))
                : null;
        Object mts = map.get("modules_to_save");
        this.modulesToSave = mts == null ? List.of() : stringList(mts);
        this.inferenceMode = bool("inference_mode");
    }

    // ---------------------------------------------------------------- public API

    /** Returns the PEFT method ({@code peft_type}). */
    public final PeftType peftType() {
        return schema.peftType();
    }

    /** Returns where the config came from: a file path, or a builder's name. */
    public final String source() {
        return source;
    }

    /** Returns {@code target_modules}, or {@code null} when it is {@code null} (PEFT then needs a model type). */
    public final TargetModules targetModules() {
        return targetModules;
    }

    /** Returns {@code exclude_modules}, or {@code null} when absent or {@code null}. */
    public final TargetModules excludeModules() {
        return excludeModules;
    }

    /**
     * Returns {@code layers_to_transform}: {@code null} when absent or {@code null} (always for IA3, which has no
     * such field); a JSON integer {@code n} is returned as {@code [n]}. An empty list means no layer filter.
     */
    public final List<Integer> layersToTransform() {
        return layersToTransform;
    }

    /**
     * Returns {@code layers_pattern}: {@code null} when absent or {@code null}; a JSON string {@code s} is
     * returned as {@code [s]}, except the empty string, which (like an empty list) PEFT treats as "any layer
     * pattern" and is returned as an empty list.
     */
    public final List<String> layersPattern() {
        return layersPattern;
    }

    /** Returns {@code modules_to_save}, an empty list when it is {@code null}. */
    public final List<String> modulesToSave() {
        return modulesToSave;
    }

    /** Returns {@code inference_mode}: when true, PEFT freezes the adapter's parameters. */
    public final boolean inferenceMode() {
        return inferenceMode;
    }

    /**
     * Returns the value of one JSON key as stored (immutable lists and maps; JSON integers as {@link Long} or
     * {@link BigInteger}, other numbers as {@link Double}), or {@code null} when the value is null or the key
     * absent.
     */
    public final Object jsonValue(String key) {
        return json.get(key);
    }

    /** Returns the keys of the JSON that PEFT 0.20 does not define for this config class, sorted. */
    public final List<String> unknownKeys() {
        return unknownKeys;
    }

    /**
     * Returns every key this config writes, with its current value: all the keys PEFT 0.20 writes for this config
     * class plus any unknown keys that were read. The map is a fresh, mutable deep copy in JSON value form.
     */
    public final Map<String, Object> toJsonMap() {
        @SuppressWarnings("unchecked")
        Map<String, Object> copy = (Map<String, Object>) JsonValues.mutableCopy(json);
        return copy;
    }

    /** Returns an equal, independent config. */
    public abstract AdapterConfig copy();

    /**
     * Returns a copy with {@code target_modules} replaced, e.g. by the module names PEFT's {@code "all-linear"}
     * expands to; {@code null} sets it to {@code null}.
     */
    public abstract AdapterConfig withTargetModules(TargetModules targets);

    /** Returns a copy with {@code inference_mode} set, as PEFT sets it when loading an adapter for inference. */
    public abstract AdapterConfig withInferenceMode(boolean inferenceMode);

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && json.equals(((AdapterConfig) o).json);
    }

    @Override
    public final int hashCode() {
        return Objects.hash(getClass(), json);
    }

    @Override
    public String toString() {
        return schema.className() + PythonRepr.repr(new TreeMap<>(json));
    }

    // ---------------------------------------------------------------- for subclasses

    /**
     * Throws when the config uses a PEFT feature peft4j does not implement (see {@link #unsupported(String)}); checked
     * after validation, whenever a config is read or built. None by default.
     */
    protected void checkSupported() {}

    /**
     * Throws when the config cannot be injected into any DJL model: PEFT's {@code _prepare_adapter_config}, which
     * fills a {@code null} {@code target_modules} from a table keyed by the Transformers {@code model_type} and
     * fails for any other model ("Please specify `target_modules` in `peft_config`"). A DJL block tree or a
     * TorchScript file has no {@code model_type}, so such a config can never be injected: the agent and
     * {@code inspect} check it at launch. A config class with further fields PEFT fills that way (IA3's
     * {@code feedforward_modules}) or with PEFT's own message overrides this.
     */
    protected void checkInjectable() {
        if (targetModules == null) {
            throw missingForDjl("target_modules", "Please specify `target_modules` in `peft_config`");
        }
    }

    /**
     * The error for a {@code null} field PEFT only fills from its {@code model_type} tables (see
     * {@link #checkInjectable()}), with PEFT's message.
     */
    protected final PeftConfigException missingForDjl(String key, String peftMessage) {
        return PeftConfigException.peft(source, key, peftMessage, " (" + key + " is "
                + (givenKeys.contains(key) ? "null" : "missing")
                + "; PEFT fills it only for Transformers model types it knows, and DJL models have none)");
    }

    /** The unknown keys with their did-you-mean, or {@code ""} when there are none (for error messages). */
    final String unknownKeysNote() {
        return unknownKeys.isEmpty() ? "" : schema.unknownKeysNote(unknownKeys);
    }

    /** Makes a config of the same class from {@code json}, with the same source. */
    protected abstract AdapterConfig rebuild(Map<String, Object> json);

    /** Returns a copy whose JSON has {@code key} set to {@code value} (any Java value {@link JsonValues} takes). */
    protected final AdapterConfig with(String key, Object value) {
        Map<String, Object> map = toJsonMap();
        map.put(key, JsonValues.normalize(value));
        return rebuild(map);
    }

    /** Returns the stored JSON value of a key. */
    protected final Object value(String key) {
        return json.get(key);
    }

    /** Records a warning, prefixed with the source. */
    protected final void warn(String message) {
        warnings.add(source + ": " + message);
    }

    /** An error about {@code key}. */
    protected final PeftConfigException error(String key, String detail) {
        return new PeftConfigException(source, key, detail);
    }

    /** An error saying that the value of {@code key} is a PEFT feature peft4j does not implement yet. */
    protected final PeftConfigException unsupported(String key) {
        return new PeftConfigException(source, key,
                "value " + PythonJsonWriter.dumps(json.get(key)).replaceAll("\\s*\\n\\s*", " ")
                        + " is not supported by peft4j yet");
    }

    /** An error about {@code key} that PEFT raises with {@code peftMessage}. */
    protected final PeftConfigException peftError(String key, String peftMessage) {
        return PeftConfigException.peft(source, key, peftMessage);
    }

    protected final boolean bool(String key) {
        return (Boolean) json.get(key);
    }

    protected final String string(String key) {
        return (String) json.get(key);
    }

    protected final double number(String key) {
        return ((Number) json.get(key)).doubleValue();
    }

    protected final int integer(String key) {
        return toInt(key, json.get(key));
    }

    /** Returns a nullable integer field. */
    protected final Integer nullableInteger(String key) {
        Object v = json.get(key);
        return v == null ? null : toInt(key, v);
    }

    protected final int toInt(String key, Object integral) {
        if (integral instanceof Long && (Long) integral == ((Long) integral).intValue()) {
            return ((Long) integral).intValue();
        }
        throw error(key, "expected an integer between " + Integer.MIN_VALUE + " and " + Integer.MAX_VALUE
                + ", got " + JsonValues.describe(integral));
    }

    /** Decodes a target-modules-like field; {@code null} stays {@code null}. */
    @SuppressWarnings("unchecked")
    protected final TargetModules targets(String key) {
        Object v = json.get(key);
        if (v == null) {
            return null;
        }
        return v instanceof String ? TargetModules.ofRegex((String) v) : TargetModules.ofNames((List<String>) v);
    }

    @SuppressWarnings("unchecked")
    protected static List<String> stringList(Object list) {
        return List.copyOf((List<String>) list);
    }

    /** Python truthiness of a JSON value: null, false, 0, 0.0, "", [] and {} are false. */
    protected static boolean truthy(Object v) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        if (v instanceof Double) {
            return (Double) v != 0.0;
        }
        if (v instanceof Long) {
            return (Long) v != 0L;
        }
        if (v instanceof BigInteger) {
            return ((BigInteger) v).signum() != 0;
        }
        if (v instanceof String) {
            return !((String) v).isEmpty();
        }
        if (v instanceof List) {
            return !((List<?>) v).isEmpty();
        }
        return !(v instanceof Map) || !((Map<?, ?>) v).isEmpty();
    }

    private List<Integer> decodeLayersToTransform(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof List) {
            List<Integer> out = new ArrayList<>();
            for (Object item : (List<?>) v) {
                out.add(toInt("layers_to_transform", item));
            }
            return List.copyOf(out);
        }
        return List.of(toInt("layers_to_transform", v));
    }

    private static List<String> decodeLayersPattern(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof String) {
            return ((String) v).isEmpty() ? List.of() : List.of((String) v);
        }
        return stringList(v);
    }

    /**
     * The part of every config builder that sets the common fields. Builders start from PEFT 0.20's defaults;
     * {@code build()} validates exactly as {@link AdapterConfigs#parse(String, String)} does.
     *
     * @param <C> the config class built
     * @param <B> the concrete builder, returned by every setter
     */
    public abstract static class AbstractBuilder<C extends AdapterConfig, B extends AbstractBuilder<C, B>> {

        /** The JSON being assembled; absent keys get PEFT's defaults when built. */
        private final Map<String, Object> json = new LinkedHashMap<>();
        private final ConfigSchema schema;

        /** Starts a builder of configs with {@code schema}. */
        protected AbstractBuilder(ConfigSchema schema) {
            this.schema = schema;
            json.put("peft_type", schema.peftType().jsonName());
        }

        /** This builder. */
        protected abstract B self();

        /** Makes the config from the assembled JSON. */
        protected abstract C create(String source, Map<String, Object> json);

        /** Sets {@code target_modules} to a list of module names. */
        public B targetModules(List<String> names) {
            return set("target_modules", TargetModules.ofNames(names).toJson());
        }

        /** Sets {@code target_modules} to a regular expression (or {@code "all-linear"}). */
        public B targetModules(String regex) {
            return set("target_modules", TargetModules.ofRegex(regex).toJson());
        }

        /** Sets {@code target_modules}; {@code null} sets it to {@code null}. */
        public B targetModules(TargetModules targets) {
            return set("target_modules", targets == null ? null : targets.toJson());
        }

        /** Sets {@code exclude_modules} to a list of module names. */
        public B excludeModules(List<String> names) {
            return set("exclude_modules", TargetModules.ofNames(names).toJson());
        }

        /** Sets {@code exclude_modules} to a regular expression. */
        public B excludeModules(String regex) {
            return set("exclude_modules", TargetModules.ofRegex(regex).toJson());
        }

        /** Sets {@code modules_to_save}: modules trained and saved in full besides the adapter. */
        public B modulesToSave(List<String> names) {
            return set("modules_to_save", names);
        }

        /** Sets {@code inference_mode}. */
        public B inferenceMode(boolean inferenceMode) {
            return set("inference_mode", inferenceMode);
        }

        /** Sets {@code task_type} (one of PEFT's task types such as {@code "CAUSAL_LM"}, or {@code null}). */
        public B taskType(String taskType) {
            return set("task_type", taskType);
        }

        /** Sets {@code base_model_name_or_path}. */
        public B baseModelNameOrPath(String name) {
            return set("base_model_name_or_path", name);
        }

        /** Sets {@code revision}. */
        public B revision(String revision) {
            return set("revision", revision);
        }

        /**
         * Sets any key by its JSON name to a JSON-like value ({@code null}, {@link Boolean}, {@link Number},
         * {@link String}, {@link java.util.Collection}, {@link Map} with string keys), for fields without a
         * typed setter.
         */
        public B set(String key, Object jsonValue) {
            json.put(Objects.requireNonNull(key, "key"), JsonValues.normalize(jsonValue));
            return self();
        }

        /**
         * Validates and returns the config.
         *
         * @throws PeftConfigException when PEFT would reject the config, or it uses a feature peft4j does not
         *     implement
         */
        public C build() {
            C config = create(schema.className() + " builder", json);
            return AdapterConfigs.accept(config);
        }
    }
}

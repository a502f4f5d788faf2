package io.peft4j.config;

import static io.peft4j.config.FieldKind.BOOLEAN;
import static io.peft4j.config.FieldKind.OBJECT;
import static io.peft4j.config.FieldKind.STRING;
import static io.peft4j.config.FieldKind.STRING_LIST;
import static io.peft4j.config.FieldKind.STRING_OR_STRING_LIST;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys PEFT 0.20.0 writes in {@code adapter_config.json} for one config class, with their JSON shapes and
 * defaults (the fields of PEFT's config dataclass; {@code runtime_config} is never written). Every schema starts from
 * the fields of PEFT's {@code PeftConfig} ({@link #builder(PeftType, String)}); a method's config class adds its own,
 * and a config class that extends another, as {@code AdaLoraConfig} extends {@code LoraConfig}, starts from its
 * parent's ({@link #extend(PeftType, String)}).
 *
 * <pre>{@code
 * static final ConfigSchema SCHEMA = ConfigSchema.builder(PeftType.IA3, "IA3Config")
 *         .field("init_ia3_weights", FieldKind.BOOLEAN, false, true)
 *         .build();
 * }</pre>
 */
public final class ConfigSchema {

    /** The PEFT release whose file format peft4j reads and writes; the default of {@code peft_version}. */
    public static final String PEFT_VERSION = "0.20.0";

    /** PEFT's {@code TaskType} values, in declaration order. */
    static final List<String> TASK_TYPES = List.of(
            "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    private final PeftType peftType;
    private final String className;
    private final Map<String, FieldSpec> fields;

    private ConfigSchema(PeftType peftType, String className, Map<String, FieldSpec> fields) {
        this.peftType = peftType;
        this.className = className;
        this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** Starts the schema of a config class with PEFT's {@code PeftConfig} fields. */
    public static Builder builder(PeftType peftType, String className) {
        Builder common = new Builder(peftType, className, Map.of());
        common.field("auto_mapping", OBJECT, true, null);
        common.field("base_model_name_or_path", STRING, true, null);
        common.field("inference_mode", BOOLEAN, false, false);
        common.field("peft_type", STRING, false, null);
        common.field("peft_version", STRING, true, PEFT_VERSION);
        common.field("revision", STRING, true, null);
        common.field("task_type", STRING, true, null);
        common.field("target_modules", STRING_OR_STRING_LIST, true, null);
        common.field("exclude_modules", STRING_OR_STRING_LIST, true, null);
        common.field("modules_to_save", STRING_LIST, true, null);
        return common;
    }

    /** Starts the schema of a config class that extends this one: its fields, then the subclass's. */
    public Builder extend(PeftType peftType, String className) {
        return new Builder(peftType, className, fields);
    }

    /** The method whose configs this schema describes ({@code peft_type}). */
    public PeftType peftType() {
        return peftType;
    }

    /** PEFT's Python class name, e.g. {@code "LoraConfig"}. */
    public String className() {
        return className;
    }

    /** The fields by JSON name, in declaration order. */
    Map<String, FieldSpec> fields() {
        return fields;
    }

    /**
     * {@code "unknown keys ['lora_dropuot'] for LoraConfig (did you mean 'lora_dropout'?)"}: the keys, sorted, with
     * the nearest known key of each that is close to one ({@link Suggestions}).
     */
    String unknownKeysNote(java.util.Collection<String> unknown) {
        List<String> sorted = new java.util.ArrayList<>(new java.util.TreeSet<>(unknown));
        StringBuilder sb = new StringBuilder("unknown key").append(sorted.size() == 1 ? " " : "s ")
                .append(PythonRepr.repr(sorted)).append(" for ").append(className);
        List<String> hints = new java.util.ArrayList<>();
        for (String key : sorted) {
            List<String> close = Suggestions.close(key, fields.keySet());
            if (!close.isEmpty()) {
                hints.add((sorted.size() == 1 ? "" : "'" + key + "': ") + "did you mean '" + close.get(0) + "'?");
            }
        }
        return hints.isEmpty() ? sb.toString() : sb.append(" (").append(String.join("; ", hints)).append(')')
                .toString();
    }

    /** Collects the fields of a schema. */
    public static final class Builder {

        private final PeftType peftType;
        private final String className;
        private final Map<String, FieldSpec> fields;

        private Builder(PeftType peftType, String className, Map<String, FieldSpec> start) {
            this.peftType = peftType;
            this.className = className;
            this.fields = new LinkedHashMap<>(start);
        }

        /**
         * Declares (or, for a field the parent declared, redeclares in place) field {@code name}.
         *
         * @param nullable whether JSON {@code null} is allowed
         * @param defaultValue the value PEFT writes when the field was not set, in JSON value form ({@link Long}
         *     for integers)
         */
        public Builder field(String name, FieldKind kind, boolean nullable, Object defaultValue) {
            fields.put(name, new FieldSpec(name, kind, nullable, defaultValue));
            return this;
        }

        /** The schema. */
        public ConfigSchema build() {
            return new ConfigSchema(peftType, className, fields);
        }
    }
}

package io.peft4j.config;

import static io.peft4j.config.FieldKind.ANY;
import static io.peft4j.config.FieldKind.BOOLEAN;
import static io.peft4j.config.FieldKind.BOOLEAN_LIST_MAP;
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

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys PEFT 0.20.0 writes in {@code adapter_config.json} for each config class, with their JSON shapes and
 * defaults (PEFT's dataclass fields of {@code PeftConfig}, {@code LoraConfig}, {@code AdaLoraConfig} and
 * {@code IA3Config}; {@code runtime_config} is never written).
 */
final class PeftSchema {

    /** The PEFT release whose file format peft4j reads and writes; the default of {@code peft_version}. */
    static final String PEFT_VERSION = "0.20.0";

    /** PEFT's {@code TaskType} values, in declaration order. */
    static final List<String> TASK_TYPES = List.of(
            "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    private static final Map<String, FieldSpec> LORA;
    private static final Map<String, FieldSpec> ADALORA;
    private static final Map<String, FieldSpec> IA3;

    static {
        Map<String, FieldSpec> common = new LinkedHashMap<>();
        put(common, "auto_mapping", OBJECT, true, null);
        put(common, "base_model_name_or_path", STRING, true, null);
        put(common, "inference_mode", BOOLEAN, false, false);
        put(common, "peft_type", STRING, false, null);
        put(common, "peft_version", STRING, true, PEFT_VERSION);
        put(common, "revision", STRING, true, null);
        put(common, "task_type", STRING, true, null);
        put(common, "target_modules", STRING_OR_STRING_LIST, true, null);
        put(common, "exclude_modules", STRING_OR_STRING_LIST, true, null);
        put(common, "modules_to_save", STRING_LIST, true, null);

        Map<String, FieldSpec> lora = new LinkedHashMap<>(common);
        put(lora, "r", INTEGER, false, 8L);
        put(lora, "lora_alpha", NUMBER, false, 8L);
        put(lora, "lora_dropout", NUMBER, false, 0.0);
        put(lora, "fan_in_fan_out", BOOLEAN, false, false);
        put(lora, "bias", STRING, false, "none");
        put(lora, "use_rslora", BOOLEAN, false, false);
        put(lora, "init_lora_weights", BOOLEAN_OR_STRING, false, true);
        put(lora, "layers_to_transform", INTEGER_OR_INTEGER_LIST, true, null);
        put(lora, "layers_pattern", STRING_OR_STRING_LIST, true, null);
        put(lora, "rank_pattern", INTEGER_MAP, true, Map.of());
        put(lora, "alpha_pattern", NUMBER_MAP, true, Map.of());
        put(lora, "megatron_config", OBJECT, true, null);
        put(lora, "megatron_core", STRING, true, "megatron.core");
        put(lora, "trainable_token_indices", OBJECT_OR_LIST, true, null);
        put(lora, "loftq_config", OBJECT, true, Map.of());
        put(lora, "eva_config", OBJECT, true, null);
        put(lora, "corda_config", OBJECT, true, null);
        put(lora, "lora_ga_config", OBJECT, true, null);
        put(lora, "use_dora", BOOLEAN, false, false);
        put(lora, "velora_config", OBJECT, true, null);
        put(lora, "alora_invocation_tokens", INTEGER_LIST, true, null);
        put(lora, "use_qalora", BOOLEAN, false, false);
        put(lora, "qalora_group_size", INTEGER, false, 16L);
        put(lora, "monteclora_config", OBJECT, true, null);
        put(lora, "layer_replication", LIST, true, null);
        put(lora, "lora_bias", BOOLEAN, false, false);
        put(lora, "target_parameters", STRING_LIST, true, null);
        put(lora, "use_bdlora", ANY, true, null);
        put(lora, "arrow_config", OBJECT, true, null);
        put(lora, "ensure_weight_tying", BOOLEAN, false, false);
        LORA = Collections.unmodifiableMap(lora);

        Map<String, FieldSpec> adalora = new LinkedHashMap<>(lora);
        put(adalora, "target_r", INTEGER, false, 8L);
        put(adalora, "init_r", INTEGER, false, 12L);
        put(adalora, "tinit", INTEGER, false, 0L);
        put(adalora, "tfinal", INTEGER, false, 0L);
        put(adalora, "deltaT", INTEGER, false, 1L);
        put(adalora, "beta1", NUMBER, false, 0.85);
        put(adalora, "beta2", NUMBER, false, 0.85);
        put(adalora, "orth_reg_weight", NUMBER, false, 0.5);
        put(adalora, "total_step", INTEGER, true, null);
        // AdaLoRA's rank_pattern maps "<module>.lora_E" to the mask of kept ranks, and defaults to None.
        put(adalora, "rank_pattern", BOOLEAN_LIST_MAP, true, null);
        ADALORA = Collections.unmodifiableMap(adalora);

        Map<String, FieldSpec> ia3 = new LinkedHashMap<>(common);
        put(ia3, "feedforward_modules", STRING_OR_STRING_LIST, true, null);
        put(ia3, "fan_in_fan_out", BOOLEAN, false, false);
        put(ia3, "init_ia3_weights", BOOLEAN, false, true);
        IA3 = Collections.unmodifiableMap(ia3);
    }

    private PeftSchema() {}

    private static void put(Map<String, FieldSpec> map, String name, FieldKind kind, boolean nullable, Object def) {
        map.put(name, new FieldSpec(name, kind, nullable, def));
    }

    /** Returns the fields PEFT writes for configs of {@code type}, keyed by JSON name. */
    static Map<String, FieldSpec> fields(PeftType type) {
        switch (type) {
            case LORA:
                return LORA;
            case ADALORA:
                return ADALORA;
            default:
                return IA3;
        }
    }

    /** Returns the Python class name PEFT uses for {@code type}, e.g. {@code "LoraConfig"}. */
    static String className(PeftType type) {
        switch (type) {
            case LORA:
                return "LoraConfig";
            case ADALORA:
                return "AdaLoraConfig";
            default:
                return "IA3Config";
        }
    }
}

package io.peft4j.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The PEFT methods peft4j implements, named as in the {@code peft_type} field of {@code adapter_config.json}. */
public enum PeftType {
    /** Low-rank adaptation ({@code LoraConfig}). */
    LORA("LORA"),
    /** (IA)³ learned rescaling vectors ({@code IA3Config}). */
    IA3("IA3"),
    /** Adaptive-budget LoRA ({@code AdaLoraConfig}). */
    ADALORA("ADALORA");

    private final String jsonName;

    PeftType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** Returns the value PEFT writes in {@code peft_type}, e.g. {@code "LORA"}. */
    public String jsonName() {
        return jsonName;
    }

    /**
     * Returns the type whose {@link #jsonName()} is exactly {@code name} (PEFT's lookup is case-sensitive).
     *
     * @throws IllegalArgumentException when {@code name} is null or not a type peft4j implements; the message
     *     lists the supported values
     */
    public static PeftType fromJson(String name) {
        for (PeftType type : values()) {
            if (type.jsonName.equals(name)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unsupported peft_type " + (name == null ? "null" : "\"" + name + "\"")
                + "; peft4j supports " + supportedNames());
    }

    /** Returns the supported JSON names, comma separated: {@code "LORA, IA3, ADALORA"}. */
    public static String supportedNames() {
        return Arrays.stream(values()).map(PeftType::jsonName).collect(Collectors.joining(", "));
    }
}

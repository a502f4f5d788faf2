package io.peft4j.config;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A PEFT method's name as the {@code peft_type} field of {@code adapter_config.json} spells it ({@code "LORA"}).
 * There is one instance per name, so types compare with {@code ==}. The constants name the methods peft4j ships; a
 * method added as a plugin declares its own with {@link #of(String)}. Which types peft4j can read and inject is what
 * the registered {@link PeftMethod}s say ({@link #fromJson(String)}, {@link #supportedNames()}).
 */
public final class PeftType {

    private static final Map<String, PeftType> TYPES = new ConcurrentHashMap<>();

    /** Low-rank adaptation ({@code LoraConfig}, package {@code io.peft4j.lora}). */
    public static final PeftType LORA = of("LORA");
    /** (IA)³ learned rescaling vectors ({@code IA3Config}, package {@code io.peft4j.ia3}). */
    public static final PeftType IA3 = of("IA3");
    /** Adaptive-budget LoRA ({@code AdaLoraConfig}, package {@code io.peft4j.adalora}). */
    public static final PeftType ADALORA = of("ADALORA");

    private final String jsonName;

    private PeftType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** Returns the type named {@code jsonName} (PEFT's spelling, case-sensitive), whether or not it is supported. */
    public static PeftType of(String jsonName) {
        return TYPES.computeIfAbsent(Objects.requireNonNull(jsonName, "jsonName"), PeftType::new);
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
        PeftMethod method = name == null ? null : PeftMethods.find(name);
        if (method == null) {
            throw new IllegalArgumentException("unsupported peft_type "
                    + (name == null ? "null" : "\"" + name + "\"") + "; peft4j supports " + supportedNames());
        }
        return method.peftType();
    }

    /** Returns the supported JSON names, comma separated in registration order: {@code "LORA, IA3, ADALORA"}. */
    public static String supportedNames() {
        return PeftMethods.supportedNames();
    }

    @Override
    public String toString() {
        return jsonName;
    }
}

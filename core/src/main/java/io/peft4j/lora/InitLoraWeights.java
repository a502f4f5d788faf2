package io.peft4j.lora;

import java.util.Locale;

/**
 * The values of LoRA's {@code init_lora_weights} that peft4j implements.
 *
 * <p>PEFT also accepts {@code "pissa"}, {@code "pissa_niter_N"}, {@code "olora"}, {@code "loftq"}, {@code "eva"},
 * {@code "corda"}, {@code "orthogonal"} and others; those are rejected by
 * {@code AdapterConfigs.checkSupported}. As in PEFT's {@code reset_lora_parameters},
 * {@code "gaussian"} is matched case-insensitively.
 */
public enum InitLoraWeights {
    /** JSON {@code true}: A Kaiming-uniform (as {@code nn.Linear}), B zero, so the adapter starts as a no-op. */
    TRUE,
    /** JSON {@code false}: A and B random; the adapter changes the output from the start. */
    FALSE,
    /** JSON {@code "gaussian"}: A normal with std {@code 1/r}, B zero. */
    GAUSSIAN;

    /** Returns the JSON value PEFT writes: {@code Boolean.TRUE}, {@code Boolean.FALSE} or {@code "gaussian"}. */
    public Object jsonValue() {
        switch (this) {
            case TRUE:
                return Boolean.TRUE;
            case FALSE:
                return Boolean.FALSE;
            default:
                return "gaussian";
        }
    }

    /** Returns the constant for a JSON value, or {@code null} when peft4j does not implement that value. */
    public static InitLoraWeights fromJson(Object value) {
        if (value instanceof Boolean) {
            return (Boolean) value ? TRUE : FALSE;
        }
        if (value instanceof String && ((String) value).toLowerCase(Locale.ROOT).equals("gaussian")) {
            return GAUSSIAN;
        }
        return null;
    }
}

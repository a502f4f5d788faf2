package io.peft4j.lora;

/**
 * LoRA's {@code bias} field: which bias terms train (and are saved) along with the adapter.
 *
 * <p>PEFT raises {@code NotImplementedError("Requested bias: X, is not implemented.")} for any other value (it
 * checks when the adapter is injected; peft4j checks when the config is read).
 */
public enum LoraBias {
    /** No bias trains ({@code "none"}, the default). */
    NONE("none"),
    /** Every bias of the model trains ({@code "all"}). */
    ALL("all"),
    /** Only the biases of adapted layers train ({@code "lora_only"}). */
    LORA_ONLY("lora_only");

    private final String jsonName;

    LoraBias(String jsonName) {
        this.jsonName = jsonName;
    }

    /** Returns the JSON value, e.g. {@code "lora_only"}. */
    public String jsonName() {
        return jsonName;
    }

    /**
     * Returns the constant whose {@link #jsonName()} is {@code value}.
     *
     * @throws IllegalArgumentException with PEFT's message {@code "Requested bias: X, is not implemented."}
     */
    public static LoraBias fromJson(String value) {
        for (LoraBias bias : values()) {
            if (bias.jsonName.equals(value)) {
                return bias;
            }
        }
        throw new IllegalArgumentException(notImplementedMessage(value));
    }

    /** Returns PEFT's message for an unknown bias value. */
    static String notImplementedMessage(String value) {
        return "Requested bias: " + value + ", is not implemented.";
    }
}

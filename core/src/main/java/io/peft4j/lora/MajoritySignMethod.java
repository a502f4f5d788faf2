package io.peft4j.lora;

import java.util.Locale;

/** PEFT's {@code majority_sign_method} for TIES: how the elected sign of each entry is chosen. */
public enum MajoritySignMethod {
    /** The sign of the sum of the pruned task tensors (PEFT's default). */
    TOTAL,
    /** The sign that most task tensors have (the sum of their signs). */
    FREQUENCY;

    /** PEFT's name. */
    public String peftName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The method PEFT calls {@code name}. */
    public static MajoritySignMethod ofPeftName(String name) {
        for (MajoritySignMethod m : values()) {
            if (m.peftName().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("Unimplemented mask method \"" + name + "\" (majority_sign_method is "
                + "total or frequency)");
    }
}

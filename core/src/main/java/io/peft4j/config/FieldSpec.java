package io.peft4j.config;

/**
 * One key PEFT 0.20 writes in {@code adapter_config.json}: its JSON shape, whether {@code null} is allowed and the
 * default PEFT writes when the field was not set.
 */
record FieldSpec(String name, FieldKind kind, boolean nullable, Object defaultValue) {

    /** True when {@code value} is acceptable for this field. */
    boolean accepts(Object value) {
        return value == null ? nullable : kind.accepts(value);
    }

    /** Describes what the field accepts, e.g. {@code "an integer or null"}. */
    String expected() {
        return nullable ? kind.expected() + " or null" : kind.expected();
    }
}

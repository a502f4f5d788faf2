package io.peft4j.config;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The JSON shapes a known {@code adapter_config.json} field may take (its Python type hint, made strict); a method
 * declares its fields with them in its {@link ConfigSchema}.
 */
public enum FieldKind {
    BOOLEAN("a boolean", v -> v instanceof Boolean),
    INTEGER("an integer", JsonValues::isInteger),
    NUMBER("a number", JsonValues::isNumber),
    STRING("a string", v -> v instanceof String),
    STRING_LIST("a list of strings", v -> isListOf(v, String.class::isInstance)),
    INTEGER_LIST("a list of integers", v -> isListOf(v, JsonValues::isInteger)),
    STRING_OR_STRING_LIST("a string or a list of strings", v -> v instanceof String || STRING_LIST.accepts(v)),
    INTEGER_OR_INTEGER_LIST("an integer or a list of integers",
            v -> JsonValues.isInteger(v) || INTEGER_LIST.accepts(v)),
    BOOLEAN_OR_STRING("a boolean or a string", v -> v instanceof Boolean || v instanceof String),
    LIST("a list", v -> v instanceof List),
    OBJECT("an object", v -> v instanceof Map),
    OBJECT_OR_LIST("an object or a list", v -> v instanceof Map || v instanceof List),
    INTEGER_MAP("an object whose values are integers", v -> isMapOf(v, JsonValues::isInteger)),
    NUMBER_MAP("an object whose values are numbers", v -> isMapOf(v, JsonValues::isNumber)),
    BOOLEAN_LIST_MAP("an object whose values are lists of booleans",
            v -> isMapOf(v, x -> isListOf(x, Boolean.class::isInstance))),
    ANY("any JSON value", v -> true);

    private final String expected;
    private final Predicate<Object> test;

    FieldKind(String expected, Predicate<Object> test) {
        this.expected = expected;
        this.test = test;
    }

    /** True when a non-null JSON value has this shape. */
    boolean accepts(Object value) {
        return test.test(value);
    }

    /** Describes the shape for error messages, e.g. {@code "a list of strings"}. */
    String expected() {
        return expected;
    }

    private static boolean isListOf(Object v, Predicate<Object> item) {
        return v instanceof List && ((List<?>) v).stream().allMatch(x -> x != null && item.test(x));
    }

    private static boolean isMapOf(Object v, Predicate<Object> value) {
        return v instanceof Map && ((Map<?, ?>) v).values().stream().allMatch(x -> x != null && value.test(x));
    }
}

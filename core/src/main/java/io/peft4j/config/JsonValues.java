package io.peft4j.config;

import io.peft4j.io.JsonReader;
import io.peft4j.io.JsonSyntaxException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON value model of this package, the same one Python's {@code json} module produces: {@code null},
 * {@link Boolean}, {@link Long} or {@link BigInteger} (JSON integers), {@link Double} (JSON numbers with a
 * fraction or exponent, and {@code NaN}/{@code Infinity}), {@link String}, {@link List} and {@link Map} with
 * {@link String} keys in insertion order.
 *
 * <p>Keeping integers and doubles apart is what lets {@code "lora_alpha": 16} be written back as {@code 16}
 * and {@code 16.0} as {@code 16.0}.
 */
final class JsonValues {

    private JsonValues() {}

    /**
     * Parses JSON text into immutable JSON values; {@code null} for the JSON literal {@code null}. Accepts what
     * Python's {@code json.loads} accepts: NaN and Infinity, no trailing data.
     */
    static Object parse(String text) throws JsonSyntaxException {
        JsonReader reader = JsonReader.allowingNonFinite(text);
        Object value = read(reader, reader.next());
        reader.next(); // only whitespace may follow
        return value;
    }

    private static Object read(JsonReader reader, JsonReader.Token token) throws JsonSyntaxException {
        switch (token) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                for (JsonReader.Token t = reader.next(); t == JsonReader.Token.NAME; t = reader.next()) {
                    String key = reader.name();
                    map.put(key, read(reader, reader.next()));
                }
                return Collections.unmodifiableMap(map);
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                for (JsonReader.Token t = reader.next(); t != JsonReader.Token.END_ARRAY; t = reader.next()) {
                    list.add(read(reader, t));
                }
                return Collections.unmodifiableList(list);
            }
            case STRING:
                return reader.text();
            case INTEGER:
                return reader.isLong() ? (Object) reader.longValue() : reader.bigValue();
            case DECIMAL:
                return reader.doubleValue();
            case TRUE:
                return Boolean.TRUE;
            case FALSE:
                return Boolean.FALSE;
            case NULL:
                return null;
            default:
                throw new IllegalStateException("a value cannot start with " + token);
        }
    }

    /**
     * Converts a Java value into the immutable JSON value model: any integral {@link Number} to {@link Long} (or
     * {@link BigInteger} beyond the long range), {@link Float} and {@link BigDecimal} to {@link Double}, any
     * {@link Collection} to a {@link List}, maps recursively.
     *
     * @throws IllegalArgumentException for values JSON cannot hold, or map keys that are not strings
     */
    static Object normalize(Object value) {
        if (value == null || value instanceof Boolean || value instanceof String || value instanceof Long
                || value instanceof Double) {
            return value;
        }
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof BigInteger) {
            BigInteger big = (BigInteger) value;
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }
        if (value instanceof Float || value instanceof BigDecimal) {
            return ((Number) value).doubleValue();
        }
        if (value instanceof Collection) {
            List<Object> list = new ArrayList<>();
            for (Object item : (Collection<?>) value) {
                list.add(normalize(item));
            }
            return Collections.unmodifiableList(list);
        }
        if (value instanceof Map) {
            Map<String, Object> map = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                map.put((String) e.getKey(), normalize(e.getValue()));
            }
            return Collections.unmodifiableMap(map);
        }
        throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
    }

    /** Returns a deep, mutable copy ({@link ArrayList}s and {@link LinkedHashMap}s) of a JSON value. */
    static Object mutableCopy(Object value) {
        if (value instanceof List) {
            List<Object> list = new ArrayList<>();
            for (Object item : (List<?>) value) {
                list.add(mutableCopy(item));
            }
            return list;
        }
        if (value instanceof Map) {
            Map<String, Object> map = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                map.put((String) e.getKey(), mutableCopy(e.getValue()));
            }
            return map;
        }
        return value;
    }

    /** True for a JSON integer (booleans are not integers here, unlike in Python). */
    static boolean isInteger(Object value) {
        return value instanceof Long || value instanceof BigInteger;
    }

    /** True for a JSON number, integer or not. */
    static boolean isNumber(Object value) {
        return isInteger(value) || value instanceof Double;
    }

    /** Describes a JSON value for an error message: its JSON type and its text, shortened. */
    static String describe(Object value) {
        String kind;
        if (value == null) {
            return "null";
        } else if (value instanceof Boolean) {
            kind = "boolean";
        } else if (isInteger(value)) {
            kind = "integer";
        } else if (value instanceof Double) {
            kind = "number";
        } else if (value instanceof String) {
            kind = "string";
        } else if (value instanceof List) {
            kind = "list";
        } else {
            kind = "object";
        }
        String text = PythonJsonWriter.dumps(value).replaceAll("\\s*\\n\\s*", " ");
        if (text.length() > 80) {
            text = text.substring(0, 77) + "...";
        }
        return kind + " " + text;
    }
}

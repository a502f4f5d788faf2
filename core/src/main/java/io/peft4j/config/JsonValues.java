package io.peft4j.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
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

    /** Accepts what Python's {@code json.loads} accepts: NaN and Infinity, no trailing data. */
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonValues() {}

    /** Parses JSON text into immutable JSON values; {@code null} for the JSON literal {@code null}. */
    static Object parse(String text) throws JsonProcessingException {
        JsonNode node = MAPPER.readTree(text);
        if (node == null || node.isMissingNode()) {
            throw new IllegalArgumentException("no JSON value in the text");
        }
        return fromNode(node);
    }

    private static Object fromNode(JsonNode node) {
        if (node.isNull()) {
            return null;
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>(node.size());
            for (JsonNode item : node) {
                list.add(fromNode(item));
            }
            return Collections.unmodifiableList(list);
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                map.put(e.getKey(), fromNode(e.getValue()));
            }
            return Collections.unmodifiableMap(map);
        }
        throw new IllegalArgumentException("unsupported JSON node " + node.getNodeType());
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

package io.peft4j.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
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

    /**
     * Accepts what Python's {@code json.loads} accepts: NaN and Infinity, no trailing data. Streaming (jackson-core
     * only): the agent reads configs in {@code premain}, where loading jackson-databind would cost ~300 classes.
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private JsonValues() {}

    /** Parses JSON text into immutable JSON values; {@code null} for the JSON literal {@code null}. */
    static Object parse(String text) throws JsonProcessingException {
        try (JsonParser parser = JSON.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw new IllegalArgumentException("no JSON value in the text");
            }
            Object value = read(parser, first);
            JsonToken trailing = parser.nextToken();
            if (trailing != null) {
                throw new JsonParseException(parser, "Trailing token (of type " + trailing + ") found after value");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Object read(JsonParser parser, JsonToken token) throws IOException {
        switch (token) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                for (JsonToken t = parser.nextToken(); t == JsonToken.FIELD_NAME; t = parser.nextToken()) {
                    String key = parser.currentName();
                    map.put(key, read(parser, parser.nextToken()));
                }
                return Collections.unmodifiableMap(map);
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
                    list.add(read(parser, t));
                }
                return Collections.unmodifiableList(list);
            }
            case VALUE_STRING:
                return parser.getText();
            case VALUE_NUMBER_INT:
                if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    BigInteger big = parser.getBigIntegerValue();
                    return big.bitLength() < 64 ? (Object) big.longValue() : big;
                }
                return parser.getLongValue();
            case VALUE_NUMBER_FLOAT:
                return parser.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new JsonParseException(parser, "unexpected JSON token " + token);
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

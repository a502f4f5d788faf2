package io.peft4j.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes JSON exactly as Python's {@code json.dumps(obj, indent=2, sort_keys=True)} does, which is how PEFT's
 * {@code PeftConfigMixin.save_pretrained} writes {@code adapter_config.json}.
 *
 * <p>Separators {@code ","} and {@code ": "}; two spaces per level; every non-empty list and object expanded one
 * item per line, empty ones written {@code []} and {@code {}}; object keys sorted by code point at every level;
 * integers as integers, doubles as Python's {@code repr(float)} ({@code NaN}, {@code Infinity},
 * {@code -Infinity} for non-finite values); strings {@code ensure_ascii}-escaped ({@code &#92;uXXXX}, lower-case hex,
 * UTF-16 surrogate pairs); no trailing newline.
 */
final class PythonJsonWriter {

    private static final String INDENT = "  ";

    private PythonJsonWriter() {}

    /** Returns the JSON text of a JSON-like value (see {@link JsonValues}). */
    static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value, int level) {
        if (value == null) {
            sb.append("null");
        } else if (value instanceof Boolean) {
            sb.append((Boolean) value ? "true" : "false");
        } else if (value instanceof Double || value instanceof Float) {
            sb.append(floatText(((Number) value).doubleValue()));
        } else if (value instanceof Number) {
            sb.append(value);
        } else if (value instanceof String) {
            writeString(sb, (String) value);
        } else if (value instanceof Map) {
            writeObject(sb, (Map<?, ?>) value, level);
        } else if (value instanceof Collection) {
            writeArray(sb, (Collection<?>) value, level);
        } else {
            throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
        }
    }

    private static String floatText(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return PythonRepr.floatRepr(d);
    }

    private static void writeArray(StringBuilder sb, Collection<?> items, int level) {
        if (items.isEmpty()) {
            sb.append("[]");
            return;
        }
        sb.append('[');
        String sep = "";
        for (Object item : items) {
            sb.append(sep);
            newline(sb, level + 1);
            write(sb, item, level + 1);
            sep = ",";
        }
        newline(sb, level);
        sb.append(']');
    }

    private static void writeObject(StringBuilder sb, Map<?, ?> map, int level) {
        if (map.isEmpty()) {
            sb.append("{}");
            return;
        }
        List<String> keys = new ArrayList<>();
        for (Object key : map.keySet()) {
            if (!(key instanceof String)) {
                throw new IllegalArgumentException("JSON object keys must be strings, got " + key);
            }
            keys.add((String) key);
        }
        keys.sort(PythonJsonWriter::compareCodePoints);
        sb.append('{');
        String sep = "";
        for (String key : keys) {
            sb.append(sep);
            newline(sb, level + 1);
            writeString(sb, key);
            sb.append(": ");
            write(sb, map.get(key), level + 1);
            sep = ",";
        }
        newline(sb, level);
        sb.append('}');
    }

    private static void newline(StringBuilder sb, int level) {
        sb.append('\n');
        for (int i = 0; i < level; i++) {
            sb.append(INDENT);
        }
    }

    /** Python compares str by code point; Java's compareTo by UTF-16 unit, which differs above U+FFFF. */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                default:
                    if (c < ' ' || c > '~') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}

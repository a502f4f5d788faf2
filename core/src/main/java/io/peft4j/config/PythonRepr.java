package io.peft4j.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * How CPython prints values, so that peft4j's messages read exactly as PEFT's f-strings do.
 *
 * <p>Values are the JSON-like Java values used throughout this package: {@code null} (None), {@link Boolean},
 * integral {@link Number}s, {@link Double}, {@link String}, {@link List}, {@link Map} and, for Python sets,
 * {@link #setRepr(Collection)}.
 */
public final class PythonRepr {

    private PythonRepr() {}

    /**
     * Returns Python's {@code str(value)}: a string prints as itself, anything else as {@link #repr(Object)}.
     * This is what an f-string such as {@code f"{peft_config.layers_pattern}"} shows.
     */
    public static String str(Object value) {
        return value instanceof String ? (String) value : repr(value);
    }

    /**
     * Returns Python's {@code repr(value)}: {@code None}, {@code True}, {@code 3}, {@code 0.1}, {@code 'fc1'},
     * {@code ['a', 'b']}, {@code {'fc1': 2}}.
     */
    public static String repr(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Boolean) {
            return (Boolean) value ? "True" : "False";
        }
        if (value instanceof Double || value instanceof Float) {
            return floatRepr(((Number) value).doubleValue());
        }
        if (value instanceof Number) {
            return value.toString();
        }
        if (value instanceof String) {
            return stringRepr((String) value);
        }
        if (value instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            join(sb, ((List<?>) value).iterator());
            return sb.append(']').toString();
        }
        if (value instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            String sep = "";
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                sb.append(sep).append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                sep = ", ";
            }
            return sb.append('}').toString();
        }
        return value.toString();
    }

    /**
     * Returns the repr of a Python set built from {@code items}: duplicates dropped, the given iteration order
     * kept, {@code set()} when empty. (CPython's own order depends on string hashing and varies per process.)
     */
    public static String setRepr(Collection<?> items) {
        if (items.isEmpty()) {
            return "set()";
        }
        StringBuilder sb = new StringBuilder("{");
        join(sb, new LinkedHashSet<>(items).iterator());
        return sb.append('}').toString();
    }

    private static void join(StringBuilder sb, Iterator<?> items) {
        String sep = "";
        while (items.hasNext()) {
            sb.append(sep).append(repr(items.next()));
            sep = ", ";
        }
    }

    /**
     * Returns CPython's {@code repr(str)}: single quotes unless the text contains a single quote and no double
     * quote; backslash, the quote, {@code \t \n \r} escaped; other non-printable characters as {@code \xhh},
     * {@code &#92;uhhhh} or {@code &#92;Uhhhhhhhh}.
     */
    public static String stringRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp < ' ' || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp < 0x7f || isPrintable(cp)) {
                sb.appendCodePoint(cp);
            } else if (cp <= 0xff) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp <= 0xffff) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.append(String.format("\\U%08x", cp));
            }
        }
        return sb.append(quote).toString();
    }

    /** Python's {@code str.isprintable()} for one non-ASCII code point. */
    private static boolean isPrintable(int cp) {
        switch (Character.getType(cp)) {
            case Character.CONTROL:
            case Character.FORMAT:
            case Character.SURROGATE:
            case Character.PRIVATE_USE:
            case Character.UNASSIGNED:
            case Character.LINE_SEPARATOR:
            case Character.PARAGRAPH_SEPARATOR:
            case Character.SPACE_SEPARATOR:
                return false;
            default:
                return true;
        }
    }

    /**
     * Returns CPython's {@code repr(float)}: the shortest decimal that reads back as the same double, in fixed
     * notation with at least one fractional digit ({@code 16.0}, {@code 0.0001}) when the decimal exponent is in
     * [-4, 16), otherwise in exponent notation with a signed, at least two-digit exponent ({@code 1e-05},
     * {@code 1e+16}, {@code 1.5e-07}); {@code nan}, {@code inf}, {@code -inf}, {@code -0.0}.
     */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortestRoundTrip(Math.abs(d)).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        // value = 0.DIGITS * 10^decpt
        int decpt = digits.length() - shortest.scale();
        StringBuilder sb = new StringBuilder();
        if (d < 0) {
            sb.append('-');
        }
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            int abs = Math.abs(exp);
            if (abs < 10) {
                sb.append('0');
            }
            sb.append(abs);
        } else if (decpt <= 0) {
            sb.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }

    /**
     * Finds the shortest decimal that parses back to {@code d} (positive, finite), choosing the one nearest to
     * the exact binary value when several have that length, as David Gay's dtoa mode 0 (used by CPython) does.
     */
    private static BigDecimal shortestRoundTrip(double d) {
        BigDecimal exact = new BigDecimal(d);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR,
                    RoundingMode.CEILING}) {
                BigDecimal candidate = exact.round(new MathContext(precision, mode));
                if (Double.parseDouble(candidate.toString()) == d && (best == null
                        || candidate.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = candidate;
                }
            }
            if (best != null) {
                return best;
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }
}

package io.peft4j.io;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * A strict pull parser for the JSON peft4j reads: {@code adapter_config.json} and safetensors headers. It accepts
 * exactly RFC 8259 JSON (what Python's {@code json.loads} accepts, with {@code NaN}, {@code Infinity} and
 * {@code -Infinity} when asked to): no comments, no trailing commas, no leading zeros or plus signs, no control
 * characters inside strings, one value and nothing after it but whitespace.
 *
 * <p>Its own rather than a library's because the agent reads the configs while the JVM starts: a general JSON library
 * cost 60-80 ms of a cold start there (class loading and initialisation), this class a few milliseconds. Limits
 * against hostile files: 1,000 levels of nesting, 1,000 characters per number (a longer integer would cost quadratic
 * time to convert).
 *
 * <p>Use: {@link #next()} returns the next token, {@code null} after the value; {@link #text()}, {@link #name()} and
 * the number accessors describe the current one. Errors are {@link JsonSyntaxException}s naming line and column.
 */
public final class JsonReader {

    /** A token of JSON text. */
    public enum Token {
        /** {@code {} */
        START_OBJECT,
        /** {@code }} */
        END_OBJECT,
        /** {@code [} */
        START_ARRAY,
        /** {@code ]} */
        END_ARRAY,
        /** An object's key: {@link #name()}. */
        NAME,
        /** A string value: {@link #text()}. */
        STRING,
        /** A number without fraction or exponent: {@link #isLong()}, {@link #longValue()}, {@link #bigValue()}. */
        INTEGER,
        /** A number with a fraction or an exponent, or {@code NaN}/{@code Infinity}: {@link #doubleValue()}. */
        DECIMAL,
        /** {@code true} */
        TRUE,
        /** {@code false} */
        FALSE,
        /** {@code null} */
        NULL
    }

    /** The deepest nesting of objects and arrays accepted. */
    public static final int MAX_DEPTH = 1000;
    /** The longest number accepted, in characters. */
    public static final int MAX_NUMBER_LENGTH = 1000;

    private static final int ROOT = 0;
    private static final int AFTER_ROOT = 1;
    private static final int OBJECT_FIRST = 2;
    private static final int OBJECT_VALUE = 3;
    private static final int OBJECT_NEXT = 4;
    private static final int ARRAY_FIRST = 5;
    private static final int ARRAY_NEXT = 6;
    private static final int DONE = 7;

    private final String json;
    private final boolean nonNumeric;
    private int pos;
    private int state = ROOT;
    private boolean[] objects = new boolean[16];
    private int depth;
    private Token current;
    private String text;
    private String name;
    private long longValue;
    private BigInteger bigValue;
    private double doubleValue;

    private JsonReader(String json, boolean nonNumeric) {
        this.json = json;
        this.nonNumeric = nonNumeric;
    }

    /** A reader of strict JSON. */
    public static JsonReader of(String json) {
        return new JsonReader(json, false);
    }

    /** A reader that also accepts {@code NaN}, {@code Infinity} and {@code -Infinity}, as Python's json module. */
    public static JsonReader allowingNonFinite(String json) {
        return new JsonReader(json, true);
    }

    /**
     * Reads the next token; {@code null} once the value is complete and only whitespace follows.
     *
     * @throws JsonSyntaxException where the text is not JSON
     */
    public Token next() throws JsonSyntaxException {
        skipWhitespace();
        switch (state) {
            case ROOT:
                if (pos >= json.length()) {
                    throw error("no JSON value in the text");
                }
                return value();
            case AFTER_ROOT:
                if (pos < json.length()) {
                    throw error("unexpected " + describe(pos) + " after the JSON value");
                }
                state = DONE;
                return current = null;
            case DONE:
                return current = null;
            case OBJECT_FIRST:
                if (peek() == '}') {
                    return close(Token.END_OBJECT);
                }
                return key();
            case OBJECT_VALUE:
                if (peek() != ':') {
                    throw error("expected ':' after the key \"" + name + "\", found " + describe(pos));
                }
                pos++;
                skipWhitespace();
                return value();
            case OBJECT_NEXT:
                return closes('}') ? close(Token.END_OBJECT) : key();
            case ARRAY_FIRST:
                if (peek() == ']') {
                    return close(Token.END_ARRAY);
                }
                return value();
            case ARRAY_NEXT:
                return closes(']') ? close(Token.END_ARRAY) : value();
            default:
                throw new IllegalStateException("state " + state);
        }
    }

    /** The current token; {@code null} before the first and after the last. */
    public Token current() {
        return current;
    }

    /**
     * The current token's text: a string's value, a key, a number as written, {@code true}, {@code {}...
     */
    public String text() {
        return text;
    }

    /** The key of the object entry being read (set by {@link Token#NAME}, kept while its value is read). */
    public String name() {
        return name;
    }

    /** For {@link Token#INTEGER}: whether it fits in a {@code long}. */
    public boolean isLong() {
        return bigValue == null;
    }

    /** For {@link Token#INTEGER} that {@link #isLong()}. */
    public long longValue() {
        return longValue;
    }

    /** For {@link Token#INTEGER}: its value, however large. */
    public BigInteger bigValue() {
        return bigValue != null ? bigValue : BigInteger.valueOf(longValue);
    }

    /** For {@link Token#DECIMAL} (and {@link Token#INTEGER}): its value as the nearest double. */
    public double doubleValue() {
        return current == Token.INTEGER ? bigValue().doubleValue() : doubleValue;
    }

    /**
     * After a value inside an object ({@code bracket} '}') or an array (']'): true at the closing bracket; otherwise
     * reads the comma that must come, and the whitespace after it.
     */
    private boolean closes(char bracket) throws JsonSyntaxException {
        if (peek() == bracket) {
            return true;
        }
        if (peek() != ',') {
            throw error("expected ',' or '" + bracket + "' in " + (bracket == '}' ? "an object" : "an array")
                    + ", found " + describe(pos));
        }
        pos++;
        skipWhitespace();
        if (peek() == bracket) {
            throw error("a comma before '" + bracket + "' (JSON allows no trailing comma)");
        }
        return false;
    }

    private Token key() throws JsonSyntaxException {
        if (peek() != '"') {
            throw error("expected a key in double quotes, found " + describe(pos));
        }
        name = string();
        text = name;
        state = OBJECT_VALUE;
        return current = Token.NAME;
    }

    private Token value() throws JsonSyntaxException {
        if (pos >= json.length()) {
            throw error("unexpected end of the text, expected a value");
        }
        char c = json.charAt(pos);
        switch (c) {
            case '{':
                return open(true, Token.START_OBJECT, "{");
            case '[':
                return open(false, Token.START_ARRAY, "[");
            case '"':
                text = string();
                return scalar(Token.STRING);
            case 't':
                return literal("true", Token.TRUE);
            case 'f':
                return literal("false", Token.FALSE);
            case 'n':
                return literal("null", Token.NULL);
            case 'N':
                doubleValue = Double.NaN;
                return nonFinite("NaN");
            case 'I':
                doubleValue = Double.POSITIVE_INFINITY;
                return nonFinite("Infinity");
            case '-':
                if (json.startsWith("-I", pos)) {
                    doubleValue = Double.NEGATIVE_INFINITY;
                    return nonFinite("-Infinity");
                }
                return number();
            default:
                if (c >= '0' && c <= '9') {
                    return number();
                }
                throw error("unexpected " + describe(pos) + ", expected a value");
        }
    }

    private Token open(boolean object, Token token, String brace) throws JsonSyntaxException {
        if (depth == MAX_DEPTH) {
            throw error("objects and arrays nested deeper than " + MAX_DEPTH + " levels");
        }
        if (depth == objects.length) {
            objects = Arrays.copyOf(objects, depth * 2);
        }
        objects[depth++] = object;
        pos++;
        text = brace;
        state = object ? OBJECT_FIRST : ARRAY_FIRST;
        return current = token;
    }

    private Token close(Token token) {
        pos++;
        depth--;
        text = token == Token.END_OBJECT ? "}" : "]";
        afterValue();
        return current = token;
    }

    private Token scalar(Token token) {
        afterValue();
        return current = token;
    }

    private void afterValue() {
        state = depth == 0 ? AFTER_ROOT : objects[depth - 1] ? OBJECT_NEXT : ARRAY_NEXT;
    }

    private Token literal(String word, Token token) throws JsonSyntaxException {
        if (!json.startsWith(word, pos)) {
            throw error("unexpected " + describe(pos) + ", expected a value");
        }
        pos += word.length();
        text = word;
        return scalar(token);
    }

    private Token nonFinite(String word) throws JsonSyntaxException {
        if (!nonNumeric || !json.startsWith(word, pos)) {
            throw error("unexpected " + describe(pos) + ", expected a value"
                    + (nonNumeric ? "" : " (NaN and Infinity are not JSON)"));
        }
        pos += word.length();
        text = word;
        return scalar(Token.DECIMAL);
    }

    private Token number() throws JsonSyntaxException {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            digits();
        } else {
            throw error("expected a digit after '-', found " + describe(pos));
        }
        boolean decimal = false;
        if (peek() == '.') {
            pos++;
            if (!isDigit(peek())) {
                throw error("expected a digit after the decimal point, found " + describe(pos));
            }
            digits();
            decimal = true;
        }
        if (peek() == 'e' || peek() == 'E') {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw error("expected a digit in the exponent, found " + describe(pos));
            }
            digits();
            decimal = true;
        }
        if (pos - start > MAX_NUMBER_LENGTH) {
            int length = pos - start;
            pos = start;
            throw error("a number of " + length + " characters; at most " + MAX_NUMBER_LENGTH + " are read");
        }
        text = json.substring(start, pos);
        bigValue = null;
        if (decimal) {
            doubleValue = Double.parseDouble(text);
            return scalar(Token.DECIMAL);
        }
        int digits = text.length() - (text.charAt(0) == '-' ? 1 : 0);
        if (digits <= 18) {
            longValue = Long.parseLong(text);
        } else {
            BigInteger big = new BigInteger(text);
            if (big.bitLength() < 64) {
                longValue = big.longValue();
            } else {
                bigValue = big;
            }
        }
        return scalar(Token.INTEGER);
    }

    private void digits() {
        while (isDigit(peek())) {
            pos++;
        }
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    /** Reads a string starting at its opening quote; leaves the position after its closing quote. */
    private String string() throws JsonSyntaxException {
        int start = ++pos;
        int n = json.length();
        int i = start;
        while (i < n) {
            char c = json.charAt(i);
            if (c == '"') {
                pos = i + 1;
                return json.substring(start, i);
            }
            if (c == '\\' || c < 0x20) {
                break;
            }
            i++;
        }
        StringBuilder out = new StringBuilder(i - start + 16).append(json, start, i);
        while (i < n) {
            char c = json.charAt(i);
            if (c == '"') {
                pos = i + 1;
                return out.toString();
            }
            if (c < 0x20) {
                pos = i;
                throw error("unescaped control character U+" + String.format("%04X", (int) c) + " in a string");
            }
            if (c != '\\') {
                out.append(c);
                i++;
                continue;
            }
            if (i + 1 >= n) {
                break;
            }
            char e = json.charAt(i + 1);
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out.append(e);
                    break;
                case 'b':
                    out.append('\b');
                    break;
                case 'f':
                    out.append('\f');
                    break;
                case 'n':
                    out.append('\n');
                    break;
                case 'r':
                    out.append('\r');
                    break;
                case 't':
                    out.append('\t');
                    break;
                case 'u':
                    out.append(unicodeEscape(i));
                    i += 4;
                    break;
                default:
                    pos = i;
                    throw error("invalid escape '\\" + e + "' in a string");
            }
            i += 2;
        }
        pos = start - 1;
        throw error("a string that is never closed");
    }

    private char unicodeEscape(int backslash) throws JsonSyntaxException {
        int value = 0;
        for (int k = backslash + 2; k < backslash + 6; k++) {
            int digit = k < json.length() ? Character.digit(json.charAt(k), 16) : -1;
            if (digit < 0) {
                pos = backslash;
                throw error("'\\u' must be followed by 4 hexadecimal digits");
            }
            value = value * 16 + digit;
        }
        return (char) value;
    }

    private int peek() {
        return pos < json.length() ? json.charAt(pos) : -1;
    }

    private void skipWhitespace() {
        while (pos < json.length()) {
            char c = json.charAt(pos);
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                return;
            }
            pos++;
        }
    }

    private String describe(int at) {
        if (at >= json.length()) {
            return "the end of the text";
        }
        char c = json.charAt(at);
        if (c == '\uFEFF') {
            return "byte order mark (U+FEFF)";
        }
        return c < 0x20 || c > 0x7e ? String.format("character U+%04X", (int) c) : "'" + c + "'";
    }

    private JsonSyntaxException error(String reason) {
        int line = 1;
        int lineStart = 0;
        int end = Math.min(pos, json.length());
        for (int i = 0; i < end; i++) {
            if (json.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new JsonSyntaxException(reason, line, end - lineStart + 1);
    }
}

package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link JsonReader} reads strict JSON as jackson-core (the parser peft4j used before it) does: the same values for
 * what both accept, a refusal for what Jackson refuses, over generated JSON and mutants of it; plus its limits,
 * Python's non-finite numbers and its error positions.
 */
class JsonReaderTest {

    private static final JsonFactory JACKSON = new JsonFactory();

    /** Every token with its value, as one line each; "ERROR" when the text is refused. */
    private static String tokensOf(String json) {
        StringBuilder out = new StringBuilder();
        try {
            JsonReader reader = JsonReader.of(json);
            for (JsonReader.Token t = reader.next(); t != null; t = reader.next()) {
                out.append(t).append(' ').append(valueOf(reader, t)).append('\n');
            }
            return out.toString();
        } catch (JsonSyntaxException e) {
            return "ERROR";
        }
    }

    private static String valueOf(JsonReader reader, JsonReader.Token t) {
        switch (t) {
            case INTEGER:
                return reader.bigValue().toString();
            case DECIMAL:
                return Double.toString(reader.doubleValue());
            case NAME:
                return reader.name();
            case STRING:
                return reader.text();
            default:
                return "";
        }
    }

    private static String jacksonTokensOf(String json) {
        StringBuilder out = new StringBuilder();
        try (JsonParser p = JACKSON.createParser(json)) {
            JsonToken t = p.nextToken();
            int depth = 0;
            while (t != null) {
                out.append(switch (t) {
                    case START_OBJECT -> "START_OBJECT ";
                    case END_OBJECT -> "END_OBJECT ";
                    case START_ARRAY -> "START_ARRAY ";
                    case END_ARRAY -> "END_ARRAY ";
                    case FIELD_NAME -> "NAME " + p.currentName();
                    case VALUE_STRING -> "STRING " + p.getText();
                    case VALUE_NUMBER_INT -> "INTEGER " + p.getBigIntegerValue();
                    case VALUE_NUMBER_FLOAT -> "DECIMAL " + p.getDoubleValue();
                    case VALUE_TRUE -> "TRUE ";
                    case VALUE_FALSE -> "FALSE ";
                    case VALUE_NULL -> "NULL ";
                    default -> throw new IllegalStateException(t.toString());
                }).append('\n');
                depth += t.isStructStart() ? 1 : t.isStructEnd() ? -1 : 0;
                t = p.nextToken();
                if (depth == 0 && t != null) {
                    return "ERROR"; // a second value: JSON allows one
                }
            }
            return out.length() == 0 ? "ERROR" : out.toString();
        } catch (JsonProcessingException e) {
            return "ERROR";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Property(tries = 600)
    void readsWhatJacksonReadsAndRefusesWhatItRefuses(@ForAll("jsonAndMutants") String json) {
        assertEquals(jacksonTokensOf(json), tokensOf(json), () -> "for the text <" + json + ">");
    }

    @Provide
    Arbitrary<String> jsonAndMutants() {
        return Arbitraries.longs().map(seed -> {
            Random random = new Random(seed);
            String json = randomValue(random, 0);
            int mutations = random.nextInt(4);
            StringBuilder text = new StringBuilder(json);
            for (int i = 0; i < mutations && text.length() > 0; i++) {
                int at = random.nextInt(text.length());
                char c = MUTANT_CHARS.charAt(random.nextInt(MUTANT_CHARS.length()));
                switch (random.nextInt(3)) {
                    case 0 -> text.insert(at, c);
                    case 1 -> text.deleteCharAt(at);
                    default -> text.setCharAt(at, c);
                }
            }
            return text.toString();
        });
    }

    private static final String MUTANT_CHARS = "{}[],:\"\\0123456789-+.eEtrufalsn /\n\t\u0001\u00e9\u2028ux";

    private static String randomValue(Random random, int depth) {
        int kind = random.nextInt(depth > 4 ? 6 : 8);
        switch (kind) {
            case 0:
                return random.nextBoolean() ? "true" : "false";
            case 1:
                return "null";
            case 2:
                return Long.toString(random.nextLong() >> random.nextInt(64));
            case 3:
                return randomNumber(random);
            case 4:
            case 5:
                return randomString(random);
            case 6: {
                List<String> items = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    items.add(randomValue(random, depth + 1));
                }
                return "[" + String.join(random.nextBoolean() ? "," : " , ", items) + "]";
            }
            default: {
                List<String> items = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    items.add(randomString(random) + (random.nextBoolean() ? ":" : " :\n ")
                            + randomValue(random, depth + 1));
                }
                return "{" + String.join(",", items) + "}";
            }
        }
    }

    private static String randomNumber(Random random) {
        StringBuilder n = new StringBuilder();
        if (random.nextBoolean()) {
            n.append('-');
        }
        n.append(random.nextInt(10) == 0 ? "0" : Long.toString(1 + random.nextInt(Integer.MAX_VALUE)));
        if (random.nextInt(3) == 0) {
            n.append("0000000000000000000000".substring(random.nextInt(22)));
        }
        if (random.nextBoolean()) {
            n.append('.').append(random.nextInt(100000));
        }
        if (random.nextBoolean()) {
            n.append(random.nextBoolean() ? 'e' : 'E').append(random.nextBoolean() ? "-" : "+")
                    .append(random.nextInt(400));
        }
        return n.toString();
    }

    private static String randomString(Random random) {
        String[] pieces = {"a", "lora_A", " ", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "\u00e9",
            "\u4e2d", "\\t", "\\b", "\\f", "\\r", "\\u0000", "x.y.z", "0"};
        StringBuilder s = new StringBuilder("\"");
        for (int i = random.nextInt(5); i > 0; i--) {
            s.append(pieces[random.nextInt(pieces.length)]);
        }
        return s.append('"').toString();
    }

    @Test
    void readsValuesAsJsonDefinesThem() throws JsonSyntaxException {
        assertAll(
                () -> assertEquals("START_OBJECT \nNAME a\nSTART_ARRAY \nINTEGER 1\nDECIMAL -0.0025\nSTRING x\"\u00e9\n"
                        + "TRUE \nFALSE \nNULL \nEND_ARRAY \nEND_OBJECT \n",
                        tokensOf(" {\"a\" : [1, -25e-4, \"x\\\"\\u00e9\", true,false ,null]}\n")),
                () -> assertEquals("INTEGER 9223372036854775807\n", tokensOf("9223372036854775807")),
                () -> assertEquals("INTEGER 9223372036854775808\n", tokensOf("9223372036854775808")),
                () -> assertEquals("INTEGER 0\n", tokensOf("-0")),
                () -> assertEquals("DECIMAL Infinity\n", tokensOf("1e400")));
        JsonReader big = JsonReader.of("-123456789012345678901234567890");
        big.next();
        assertAll(() -> assertEquals(false, big.isLong()),
                () -> assertEquals("-123456789012345678901234567890", big.bigValue().toString()));
        JsonReader fits = JsonReader.of("-9223372036854775808");
        fits.next();
        assertAll(() -> assertTrue(fits.isLong()), () -> assertEquals(Long.MIN_VALUE, fits.longValue()));
    }

    @Test
    void nonFiniteNumbersOnlyWhenAskedAsPythonWritesThem() throws JsonSyntaxException {
        JsonReader reader = JsonReader.allowingNonFinite("[NaN, Infinity, -Infinity]");
        reader.next();
        List<Double> values = new ArrayList<>();
        for (JsonReader.Token t = reader.next(); t != JsonReader.Token.END_ARRAY; t = reader.next()) {
            assertEquals(JsonReader.Token.DECIMAL, t);
            values.add(reader.doubleValue());
        }
        assertEquals(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY), values);
        assertAll(
                () -> assertEquals("ERROR", tokensOf("NaN")),
                () -> assertEquals("unexpected 'N', expected a value (NaN and Infinity are not JSON)",
                        assertThrows(JsonSyntaxException.class, () -> JsonReader.of("NaN").next()).reason()),
                () -> assertThrows(JsonSyntaxException.class, () -> JsonReader.allowingNonFinite("+Infinity").next()),
                () -> assertThrows(JsonSyntaxException.class, () -> JsonReader.allowingNonFinite("Inf").next()));
    }

    @Test
    void errorsSayWhatAndWhere() {
        JsonSyntaxException e = error("{\n  \"r\": 8,\n  \"a\": 01\n}");
        assertAll(() -> assertEquals("expected ',' or '}' in an object, found '1'", e.reason()),
                () -> assertEquals(3, e.line()), () -> assertEquals(9, e.column()),
                () -> assertEquals("expected ',' or '}' in an object, found '1' (line 3, column 9)",
                        e.getMessage()));
        assertAll(
                () -> assertEquals("no JSON value in the text", error(" \n").reason()),
                () -> assertEquals("unexpected end of the text, expected a value", error("[1,").reason()),
                () -> assertEquals("a comma before '}' (JSON allows no trailing comma)", error("{\"a\":1,}").reason()),
                () -> assertEquals("a comma before ']' (JSON allows no trailing comma)", error("[1, ]").reason()),
                () -> assertEquals("expected a key in double quotes, found '1'", error("{1:2}").reason()),
                () -> assertEquals("expected ':' after the key \"a\", found '1'", error("{\"a\" 1}").reason()),
                () -> assertEquals("a string that is never closed", error("[\"abc").reason()),
                () -> assertEquals("unescaped control character U+0009 in a string", error("\"a\tb\"").reason()),
                () -> assertEquals("invalid escape '\\x' in a string", error("\"\\x\"").reason()),
                () -> assertEquals("'\\u' must be followed by 4 hexadecimal digits", error("\"\\u12g4\"").reason()),
                () -> assertEquals("expected a digit after the decimal point, found ']'", error("[1.]").reason()),
                () -> assertEquals("unexpected 'x' after the JSON value", error("{} x").reason()),
                () -> assertEquals("unexpected byte order mark (U+FEFF), expected a value",
                        error("\uFEFF{}").reason()),
                () -> assertEquals("unexpected '/', expected a value", error("[/* no */ 1]").reason()));
    }

    @Test
    void hostileNestingAndNumbersAreRefusedCheaply() {
        String deep = "[".repeat(JsonReader.MAX_DEPTH + 1);
        assertEquals("objects and arrays nested deeper than 1000 levels", error(deep).reason());
        String fine = "[".repeat(JsonReader.MAX_DEPTH) + "]".repeat(JsonReader.MAX_DEPTH);
        assertEquals(2 * JsonReader.MAX_DEPTH, tokensOf(fine).lines().count());
        JsonSyntaxException number = error("[" + "7".repeat(1_000_000) + "]");
        assertAll(() -> assertEquals("a number of 1000000 characters; at most 1000 are read", number.reason()),
                () -> assertEquals(2, number.column()));
        assertEquals("INTEGER " + "7".repeat(1000) + "\n", tokensOf("7".repeat(1000)));
    }

    private static JsonSyntaxException error(String json) {
        return assertThrows(JsonSyntaxException.class, () -> {
            JsonReader reader = JsonReader.allowingNonFinite(json);
            while (reader.next() != null) {
                // read to the end
            }
        });
    }
}

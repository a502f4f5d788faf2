package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Expected texts are what CPython 3.11's json.dumps(value, indent=2, sort_keys=True) and repr print. */
class PythonJsonWriterTest {

    @ParameterizedTest
    @CsvSource({
        "0.0, 0.0", "-0.0, -0.0", "0.1, 0.1", "0.85, 0.85", "16.0, 16.0", "100.0, 100.0", "1e-05, 1e-05",
        "0.0001, 0.0001", "0.00012, 0.00012", "1.5e-07, 1.5e-07", "1e16, 1e+16", "1e15, 1000000000000000.0",
        "123456789012345678, 1.2345678901234568e+17", "0.30000000000000004, 0.30000000000000004",
        "5e-324, 5e-324", "1.7976931348623157e308, 1.7976931348623157e+308", "2.5, 2.5", "1e22, 1e+22",
        "-3.25e-10, -3.25e-10", "9999999999999998.0, 9999999999999998.0", "0.2, 0.2", "1e100, 1e+100",
    })
    void floatReprMatchesCpython(double value, String python) {
        assertEquals(python, PythonRepr.floatRepr(value));
        assertEquals(python, PythonJsonWriter.dumps(value));
    }

    @Test
    void nonFiniteFloats() {
        assertEquals("NaN", PythonJsonWriter.dumps(Double.NaN));
        assertEquals("Infinity", PythonJsonWriter.dumps(Double.POSITIVE_INFINITY));
        assertEquals("-Infinity", PythonJsonWriter.dumps(Double.NEGATIVE_INFINITY));
        assertEquals("nan", PythonRepr.floatRepr(Double.NaN));
        assertEquals("-inf", PythonRepr.floatRepr(Double.NEGATIVE_INFINITY));
    }

    @Test
    void layoutMatchesIndentTwoSortKeys() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("b", List.of());
        inner.put("a", Map.of());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("z", List.of(1L, 2.0, "x", true));
        root.put("y", null);
        root.put("m", inner);
        root.put("B", new BigInteger("123456789012345678901234567890"));
        String expected = "{\n"
                + "  \"B\": 123456789012345678901234567890,\n"
                + "  \"m\": {\n"
                + "    \"a\": {},\n"
                + "    \"b\": []\n"
                + "  },\n"
                + "  \"y\": null,\n"
                + "  \"z\": [\n"
                + "    1,\n"
                + "    2.0,\n"
                + "    \"x\",\n"
                + "    true\n"
                + "  ]\n"
                + "}";
        assertEquals(expected, PythonJsonWriter.dumps(root));
        assertEquals("{}", PythonJsonWriter.dumps(Map.of()));
        assertEquals("[\n  [\n    []\n  ]\n]", PythonJsonWriter.dumps(List.of(List.of(List.of()))));
    }

    @Test
    void stringsAreAsciiEscaped() {
        assertEquals("\"caf\\u00e9 \\u4e2d \\ud83d\\ude00\"", PythonJsonWriter.dumps("café 中 😀"));
        assertEquals("\"\\\"q\\\" \\\\ / \\n\\r\\t\\b\\f \\u0001 \\u007f\"",
                PythonJsonWriter.dumps("\"q\" \\ / \n\r\t\b\f \u0001 \u007f"));
    }

    @Test
    void keysSortByCodePoint() {
        Map<String, Object> map = new LinkedHashMap<>();
        for (String key : Arrays.asList("\uff61", "😀", "b", "B", "_", "a1", "a")) {
            map.put(key, 0L);
        }
        // Python: sorted(['｡', '😀', 'b', 'B', '_', 'a1', 'a']) == ['B', '_', 'a', 'a1', 'b', '｡', '😀']
        assertEquals("{\n  \"B\": 0,\n  \"_\": 0,\n  \"a\": 0,\n  \"a1\": 0,\n  \"b\": 0,\n  \"\\uff61\": 0,\n"
                + "  \"\\ud83d\\ude00\": 0\n}", PythonJsonWriter.dumps(map));
    }
}

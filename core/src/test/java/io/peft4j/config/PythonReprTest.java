package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expected texts are what CPython prints for the same values. */
class PythonReprTest {

    @Test
    void strings() {
        assertEquals("'fc1'", PythonRepr.repr("fc1"));
        assertEquals("\"it's\"", PythonRepr.repr("it's"));
        assertEquals("'say \"hi\" it\\'s'", PythonRepr.repr("say \"hi\" it's"));
        assertEquals("'a\\\\b\\n\\t\\x01\\x7f'", PythonRepr.repr("a\\b\n\t\u0001\u007f"));
        assertEquals("'café \\xa0 \\u200b 😀'", PythonRepr.repr("café \u00a0 \u200b 😀"));
        assertEquals("fc1", PythonRepr.str("fc1"));
    }

    @Test
    void containers() {
        assertEquals("[0, 1]", PythonRepr.repr(List.of(0L, 1L)));
        assertEquals("['h', 'layers']", PythonRepr.str(List.of("h", "layers")));
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("fc1", 16.0);
        map.put("x", Arrays.asList(true, null));
        assertEquals("{'fc1': 16.0, 'x': [True, None]}", PythonRepr.repr(map));
        assertEquals("{'a', 'b'}", PythonRepr.setRepr(List.of("a", "b", "a")));
        assertEquals("set()", PythonRepr.setRepr(List.of()));
    }
}

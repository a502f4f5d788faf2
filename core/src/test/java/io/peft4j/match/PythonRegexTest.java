package io.peft4j.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.regex.PatternSyntaxException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Expected results are those of CPython 3.11's re.fullmatch / re.match on the same pattern and text. */
class PythonRegexTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "(?P<first_name>a+)b(?P=first_name) | aabaa   | true  | true",
        "(?P<first_name>a+)b(?P=first_name) | aaba    | false | false",
        "x\\Z                               | x       | true  | true",
        "a{                                 | a{      | true  | true",
        "a{,2}b                             | aab     | true  | true",
        "a{,2}b                             | aaab    | false | false",
        "a{}                                | a{}     | true  | true",
        "[[]x                               | [x      | true  | true",
        "[]a]+                              | ]a      | true  | true",
        "[a&&b]+                            | a&b     | true  | true",
        "[^]x]                              | y       | true  | true",
        "(?#comment)fc1                     | fc1     | true  | true",
        "(?i)FC1                            | fc1     | true  | true",
        "(?i:F)c1                           | fC1     | false | false",
        "\\101                              | A       | true  | true",
        "\\d+                               | ١٢٣     | true  | true",
        "(?a)\\d+                           | ١٢٣     | false | false",
        "a$                                 | a\\n    | false | true",
        ".*fc[12]                           | fc1     | true  | true",
        "fc                                 | fc1     | false | true",
    })
    void behavesAsPythonsRe(String pattern, String text, boolean fullmatch, boolean match) {
        String input = text.replace("\\n", "\n");
        assertEquals(fullmatch, PythonRegex.compile(pattern).matcher(input).matches(), "fullmatch");
        assertEquals(match, PythonRegex.compile(pattern).matcher(input).lookingAt(), "match");
    }

    @ParameterizedTest
    @ValueSource(strings = {"(?P<a>x)(?P<a>y)", "(?P=nope)", "(?L)x", "x\\", "[ab"})
    void rejectsWhatPythonRejects(String pattern) {
        assertThrows(PatternSyntaxException.class, () -> PythonRegex.compile(pattern));
    }
}

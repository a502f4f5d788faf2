package io.peft4j.match;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.GoldenFiles;
import io.peft4j.config.TargetModules;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** PEFT 0.20's own truth table for check_target_module_exists (tests/test_tuners_utils.py REGEX_TEST_CASES). */
class RegexTruthTableTest {

    private static JsonNode cases() {
        return GoldenFiles.json("regex_test_cases.json").get("cases");
    }

    static Stream<Arguments> rows() {
        List<Arguments> rows = new ArrayList<>();
        int i = 0;
        for (JsonNode row : cases()) {
            rows.add(Arguments.of(i++, row));
        }
        return rows.stream();
    }

    @Test
    void tableHasAllRows() {
        assertEquals(46, cases().size());
    }

    /** Through the core rule, with the arguments normalised as {@link AdapterConfig} normalises them. */
    @ParameterizedTest(name = "row {0}: {1}")
    @MethodSource("rows")
    void matchesAgreesWithPeft(int index, JsonNode row) {
        JsonNode targets = row.get("target_modules");
        TargetModules t = targets.isTextual() ? TargetModules.ofRegex(targets.textValue())
                : TargetModules.ofNames(strings(targets));
        List<Integer> layers = null;
        if (!row.get("layers_to_transform").isNull()) {
            layers = new ArrayList<>();
            for (JsonNode n : row.get("layers_to_transform")) {
                layers.add(n.intValue());
            }
        }
        JsonNode p = row.get("layers_pattern");
        List<String> pattern = p.isNull() ? null
                : p.isTextual() ? (p.textValue().isEmpty() ? List.of() : List.of(p.textValue())) : strings(p);
        assertEquals(row.get("expected").booleanValue(), TargetMatcher.matches(t, layers, pattern,
                row.get("key").textValue()));
    }

    /** Through a LoraConfig read from JSON, as PEFT's test builds a LoraConfig for every row. */
    @ParameterizedTest(name = "row {0}: {1}")
    @MethodSource("rows")
    void isTargetedAgreesWithPeft(int index, JsonNode row) {
        String json = "{\"peft_type\": \"LORA\", \"target_modules\": " + row.get("target_modules")
                + ", \"layers_to_transform\": " + row.get("layers_to_transform")
                + ", \"layers_pattern\": " + row.get("layers_pattern") + "}";
        AdapterConfig config = AdapterConfigs.parse(json, "row " + index);
        assertEquals(row.get("expected").booleanValue(), TargetMatcher.isTargeted(config, row.get("key").textValue()));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.textValue()));
        return out;
    }
}

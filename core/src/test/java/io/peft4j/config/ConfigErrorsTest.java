package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every error names the file and the key at fault; PEFT's own messages are reproduced exactly. */
class ConfigErrorsTest {

    @TempDir
    Path tmp;

    private static PeftConfigException parseFails(String jsonBody) {
        return assertThrows(PeftConfigException.class,
                () -> AdapterConfigs.parse("{" + jsonBody + "}", "my/adapter_config.json"));
    }

    private static String lora(String extra) {
        return "\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"]" + (extra.isEmpty() ? "" : ", " + extra);
    }

    private static void assertNames(PeftConfigException e, String field) {
        assertEquals("my/adapter_config.json", e.source());
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith("my/adapter_config.json: field \"" + field + "\": "), e.getMessage());
    }

    @Test
    void badBiasHasPeftsMessage() {
        String expected = GoldenFiles.json("f2_errors/errors.json").get("lora_bad_bias")
                .get("error").get("message").textValue();
        PeftConfigException e = parseFails(lora("\"bias\": \"bogus\""));
        assertNames(e, "bias");
        assertEquals(expected, e.peftMessage());
        assertTrue(e.getMessage().endsWith(expected));
    }

    @Test
    void nonPositiveRankHasPeftsMessage() {
        PeftConfigException e = parseFails(lora("\"r\": 0"));
        assertNames(e, "r");
        assertEquals("`r` should be a positive integer value but the value passed is 0", e.peftMessage());
        PeftConfigException pattern = parseFails(lora("\"rank_pattern\": {\"fc1\": -2}"));
        assertNames(pattern, "rank_pattern");
        assertEquals("`r` should be a positive integer value but the value passed is -2", pattern.peftMessage());
    }

    @Test
    void missingPeftTypeNamesTheSupportedValues() {
        PeftConfigException e = parseFails("\"r\": 8");
        assertNames(e, "peft_type");
        assertTrue(e.getMessage().contains("LORA, IA3, ADALORA"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"'\"BOFT\"'", "'\"lora\"'", "'3'", "'null'"})
    void unsupportedPeftTypeNamesTheSupportedValues(String value) {
        PeftConfigException e = parseFails("\"peft_type\": " + value);
        assertNames(e, "peft_type");
        assertTrue(e.getMessage().contains("LORA, IA3, ADALORA"), e.getMessage());
        assertNull(e.peftMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"r\": \"8\"                         | r                   | an integer",
        "\"r\": 8.0                           | r                   | an integer",
        "\"r\": true                          | r                   | an integer",
        "\"r\": 4294967296                    | r                   | an integer between",
        "\"lora_alpha\": \"16\"               | lora_alpha          | a number",
        "\"use_rslora\": 1                    | use_rslora          | a boolean",
        "\"target_modules\": [\"a\", 1]       | target_modules      | a string or a list of strings or null",
        "\"layers_to_transform\": [0.5]       | layers_to_transform | an integer or a list of integers",
        "\"rank_pattern\": [\"fc1\"]          | rank_pattern        | an object whose values are integers",
        "\"alpha_pattern\": {\"fc1\": \"x\"}  | alpha_pattern       | an object whose values are numbers",
        "\"modules_to_save\": \"head\"        | modules_to_save     | a list of strings or null",
        "\"inference_mode\": null             | inference_mode      | a boolean",
        "\"init_lora_weights\": 1             | init_lora_weights   | a boolean or a string",
    })
    void wrongJsonTypeNamesFieldAndExpectedType(String member, String field, String expected) {
        PeftConfigException e = parseFails("\"peft_type\": \"LORA\", " + member);
        assertNames(e, field);
        assertTrue(e.getMessage().contains("expected " + expected), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "use_qalora              | true",
        "init_lora_weights       | \"eva\"",
        "init_lora_weights       | \"corda\"",
        "init_lora_weights       | \"lora_ga\"",
        "init_lora_weights       | \"mica\"",
        "layer_replication       | [[0, 4], [2, 5]]",
        "target_parameters       | [\"experts.gate_up_proj\"]",
        "trainable_token_indices | [0, 1]",
        "alora_invocation_tokens | [1, 2]",
        "arrow_config            | {}",
        "use_bdlora              | {\"blocks\": 2}",
        "lora_ga_config          | {}",
        "monteclora_config       | {}",
        "velora_config           | {}",
    })
    void unsupportedFeatureNamesTheField(String field, String value) {
        PeftConfigException e = parseFails(lora("\"" + field + "\": " + value));
        assertNames(e, field);
        assertTrue(e.getMessage().endsWith("is not supported by peft4j yet"), e.getMessage());
    }

    @Test
    void doraIsSupported() {
        LoraConfig config = (LoraConfig) AdapterConfigs.parse("{" + lora("\"use_dora\": true") + "}", "t");
        assertTrue(config.useDora());
    }

    @Test
    void harmlessDefaultsOfUnsupportedFeaturesAreAccepted() {
        AdapterConfigs.parse("{" + lora("\"target_parameters\": [], \"use_bdlora\": false, \"use_qalora\": false,"
                + " \"megatron_config\": {\"a\": 1}, \"ensure_weight_tying\": true") + "}", "t");
    }

    @Test
    void postInitChecksHavePeftsMessages() {
        assertEquals("`layers_to_transform` cannot be used when `target_modules` is a str.",
                parseFails("\"peft_type\": \"LORA\", \"target_modules\": \".*\", \"layers_to_transform\": [0]")
                        .peftMessage());
        assertEquals("`layers_pattern` cannot be used when `target_modules` is a str.",
                parseFails("\"peft_type\": \"LORA\", \"target_modules\": \".*\", \"layers_pattern\": \"h\"")
                        .peftMessage());
        String patternAlone = "When `layers_pattern` is specified, `layers_to_transform` must also be specified. ";
        assertEquals(patternAlone, parseFails(lora("\"layers_pattern\": [\"h\"]")).peftMessage());
        assertEquals(patternAlone, parseFails(lora("\"layers_pattern\": \"h\", \"layers_to_transform\": 0"))
                .peftMessage(), "Python treats layers_to_transform=0 as not specified");
        assertEquals("`loftq_config` must be specified when `init_lora_weights` is 'loftq'.",
                parseFails(lora("\"init_lora_weights\": \"loftq\"")).peftMessage());
        assertEquals("The argument lora_bias=True is only supported with init_lora_weights=True or False, got "
                + "init_lora_weights=gaussian instead.",
                parseFails(lora("\"lora_bias\": true, \"init_lora_weights\": \"gaussian\"")).peftMessage());
        assertEquals("Invalid task type: 'CAUSAL'. Must be one of the following task types: SEQ_CLS, "
                + "SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION.",
                parseFails(lora("\"task_type\": \"CAUSAL\"")).peftMessage());
    }

    @Test
    void malformedJsonNamesTheSource() {
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> AdapterConfigs.parse("{\"peft_type\": \"LORA\",", "broken.json"));
        assertTrue(e.getMessage().startsWith("broken.json: malformed JSON"), e.getMessage());
        PeftConfigException array = assertThrows(PeftConfigException.class,
                () -> AdapterConfigs.parse("[1]", "array.json"));
        assertTrue(array.getMessage().startsWith("array.json: expected a JSON object"), array.getMessage());
        assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse("{} {}", "two.json"));
    }

    @Test
    void missingFileNamesThePath() {
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.read(tmp));
        assertTrue(e.getMessage().contains("Can't find 'adapter_config.json' at '" + tmp + "'"), e.getMessage());
        assertEquals(tmp.resolve("adapter_config.json").toString(), e.source());
    }

    @Test
    void readErrorsNameTheFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("adapter_config.json"), "{" + lora("\"use_qalora\": true") + "}");
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.read(tmp));
        assertEquals(file + ": field \"use_qalora\": value true is not supported by peft4j yet", e.getMessage());
    }

    @Test
    void pythonsJsonExtensionsAreAccepted() {
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config =
                    AdapterConfigs.parse("{" + lora("\"w\": NaN, \"x\": Infinity") + "}", "t");
            assertTrue(Double.isNaN((Double) config.jsonValue("w")));
            assertTrue(AdapterConfigs.toJson(config).contains("\"x\": Infinity"));
            assertEquals(1, capture.warnings().size(), "w and x are unknown keys, told in one warning");
        }
    }

    @Test
    void messageOnlyConstructorIsKept() {
        PeftConfigException e = new PeftConfigException("plain");
        assertEquals("plain", e.getMessage());
        assertNull(e.field());
    }
}

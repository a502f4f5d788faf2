package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agent and {@code inspect} check when they read a config at launch ({@link AdapterConfigs#readForInjection}):
 * PEFT's validation when it builds the config and when it injects it into a model without a Transformers
 * {@code model_type}, each problem once, unknown keys with their did-you-mean.
 */
class LaunchChecksTest {

    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"), json);
        return dir;
    }

    private String file() {
        return dir.resolve("adapter_config.json").toString();
    }

    @Test
    void aMisspeltTargetModulesIsAnErrorAtLaunchThatNamesTheKeyItMeant() throws IOException {
        Path adapter = write("{\"peft_type\": \"LORA\", \"r\": 4, \"target_module\": [\"fc1\"]}");
        try (WarningCapture capture = new WarningCapture()) {
            PeftConfigException e = assertThrows(PeftConfigException.class,
                    () -> AdapterConfigs.readForInjection(adapter));
            assertEquals(file() + ": field \"target_modules\": Please specify `target_modules` or `target_parameters`"
                    + "in `peft_config` (target_modules is missing; PEFT fills it only for Transformers model types"
                    + " it knows, and DJL models have none); also: unknown key ['target_module'] for LoraConfig (did"
                    + " you mean 'target_modules'?)", e.getMessage());
            assertEquals("target_modules", e.field());
            assertEquals("Please specify `target_modules` or `target_parameters`in `peft_config`", e.peftMessage());
            assertEquals(List.of(), capture.warnings(), "the unknown key is told in the error, not again");
        }
        // read() stays as lenient as PEFT's from_pretrained: one warning, with the did-you-mean
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config = AdapterConfigs.read(adapter);
            assertNull(config.targetModules());
            assertEquals(List.of(file() + ": unknown key ['target_module'] for LoraConfig (did you mean"
                    + " 'target_modules'?): PEFT 0.20.0 does not define it; peft4j ignores it but keeps it when"
                    + " writing the config back"), capture.warnings());
        }
    }

    @Test
    void anErrorInAConfigWithUnknownKeysNamesThemWithTheirSuggestion() throws IOException {
        Path adapter = write("{\"peft_type\": \"LORA\", \"r\": 0, \"target_modules\": [\"fc1\"], \"lora_dropuot\": 0.1,"
                + " \"foo\": 1}");
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.readForInjection(adapter));
        assertEquals(file() + ": field \"r\": `r` should be a positive integer value but the value passed is 0;"
                + " also: unknown keys ['foo', 'lora_dropuot'] for LoraConfig ('lora_dropuot': did you mean"
                + " 'lora_dropout'?)", e.getMessage());
        assertEquals("`r` should be a positive integer value but the value passed is 0", e.peftMessage());
    }

    @Test
    void ia3NeedsItsFeedforwardModulesAndAdaLoraItsTotalStep() throws IOException {
        Path ia3 = write("{\"peft_type\": \"IA3\", \"target_modules\": [\"fc1\"]}");
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.readForInjection(ia3));
        assertEquals(file() + ": field \"feedforward_modules\": Please specify `feedforward_modules` in `peft_config`"
                + " (feedforward_modules is missing; PEFT fills it only for Transformers model types it knows, and DJL"
                + " models have none)", e.getMessage());
        Path ada = write("{\"peft_type\": \"ADALORA\", \"target_modules\": [\"fc1\"], \"total_step\": null}");
        PeftConfigException a = assertThrows(PeftConfigException.class, () -> AdapterConfigs.readForInjection(ada));
        assertEquals("AdaLoRA does not work when `total_step` is None, supply a value > 0.", a.peftMessage());
        Path adaNull = write("{\"peft_type\": \"ADALORA\", \"target_modules\": null, \"total_step\": 10}");
        PeftConfigException n = assertThrows(PeftConfigException.class,
                () -> AdapterConfigs.readForInjection(adaNull));
        assertTrue(n.getMessage().contains("(target_modules is null;"), n.getMessage());
    }

    @Test
    void loraDropoutIsAProbabilityAndAlphaFinite() {
        PeftConfigException above = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"], \"lora_dropout\": 1.5}", "x"));
        assertEquals("x: field \"lora_dropout\": dropout probability has to be between 0 and 1, but got 1.5",
                above.getMessage());
        PeftConfigException negative = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"], \"lora_dropout\": -0.1}", "x"));
        assertEquals("x: field \"lora_dropout\": expected a probability in [0, 1), got -0.1 (PEFT would silently"
                + " train without dropout)", negative.getMessage());
        PeftConfigException alpha = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"], \"lora_alpha\": NaN}", "x"));
        assertEquals("x: field \"lora_alpha\": expected a finite number, got nan", alpha.getMessage());
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"], \"lora_dropout\": 1.0}",
                    "x");
            assertEquals(List.of("x: lora_dropout=1.0 zeroes the adapter's input in every training step: the adapter"
                    + " gets no gradient and does not train (inference is unaffected)"), capture.warnings());
        }
    }

    @Test
    void aValidConfigPassesTheLaunchCheckWithItsWarningsOnce() throws IOException {
        Path adapter = write("{\"peft_type\": \"LORA\", \"target_modules\": \"all-linear\", \"lora_dropuot\": 0.1}");
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config = AdapterConfigs.readForInjection(adapter);
            assertTrue(config.targetModules().isAllLinear());
            assertEquals(1, capture.warnings().size(), capture.warnings().toString());
            assertTrue(capture.warnings().get(0).contains("(did you mean 'lora_dropout'?)"), capture.warnings()
                    .toString());
        }
    }

    @Test
    void suggestionsAreCloseNamesByEditDistance() {
        assertEquals(1, Suggestions.distance("target_module", "target_modules"));
        assertEquals(0, Suggestions.distance("onError", "ONERROR"));
        assertEquals(" (did you mean 'onError'?)", Suggestions.didYouMean("onEror", List.of("adapter", "onError")));
        assertEquals("", Suggestions.didYouMean("r", List.of("bias")), "too far to be a typo");
        assertEquals("", Suggestions.didYouMean("colour", List.of("bias", "lora_alpha")));
        assertEquals(List.of("lora_dropout"), Suggestions.close("lora_dropot", List.of("lora_alpha", "lora_dropout",
                "r")));
        assertEquals(List.of("encoder.0.fc1", "encoder.0.fc2", "head"), Suggestions.nearest(List.of("fc9"),
                List.of("head", "encoder.0.fc1", "encoder.0.fc2"), 5));
        assertEquals(List.of("encoder.0.fc2"), Suggestions.nearest(List.of("fc9", "fc2"),
                List.of("head", "encoder.0.fc1", "encoder.0.fc2"), 1));
    }
}

package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraBias;
import io.peft4j.lora.LoraConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class LoraConfigTest {

    private static TreeSet<String> goldenKeys(String file) {
        TreeSet<String> keys = new TreeSet<>();
        GoldenFiles.json(file).fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    @Test
    void builderWritesExactlyTheKeysPeftWrites() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("linear")).build();
        assertEquals(goldenKeys("a_lora_dummy/adapter_config.json"), new TreeSet<>(config.toJsonMap().keySet()));
    }

    @Test
    void builderReproducesPeftsFileByteForByte() {
        // a_lora_dummy was made by LoraConfig(r=64, lora_alpha=16, lora_dropout=0.1, target_modules=["linear"])
        LoraConfig config = LoraConfig.builder().r(64).loraAlpha(16).loraDropout(0.1)
                .targetModules(List.of("linear")).build();
        assertEquals(GoldenFiles.text("a_lora_dummy/adapter_config.json"), AdapterConfigs.toJson(config));
    }

    @Test
    void defaultsAreThoseOfPeft() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1")).build();
        assertEquals(8, config.r());
        assertEquals(8.0, config.loraAlpha());
        assertEquals(0.0, config.loraDropout());
        assertEquals(LoraBias.NONE, config.bias());
        assertFalse(config.useRslora());
        assertEquals(InitLoraWeights.TRUE, config.initLoraWeights());
        assertFalse(config.fanInFanOut());
        assertEquals(Map.of(), config.rankPattern());
        assertEquals(Map.of(), config.alphaPattern());
        assertFalse(config.loraBias());
        assertFalse(config.useDora());
        assertNull(config.excludeModules());
        assertNull(config.layersToTransform());
        assertNull(config.layersPattern());
        assertEquals(List.of(), config.modulesToSave());
        assertFalse(config.inferenceMode());
        assertEquals(PeftType.LORA, config.peftType());
        assertEquals("0.20.0", config.jsonValue("peft_version"));
        assertEquals("megatron.core", config.jsonValue("megatron_core"));
        assertNull(LoraConfig.builder().build().targetModules());
    }

    @Test
    void typedValuesMatchTheGoldenFile() {
        LoraConfig config =
                (LoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("b5_lora_mlp_rank_alpha_pattern"));
        JsonNode json = GoldenFiles.json("b5_lora_mlp_rank_alpha_pattern/adapter_config.json");
        assertEquals(json.get("r").intValue(), config.r());
        assertEquals(json.get("lora_alpha").doubleValue(), config.loraAlpha());
        assertEquals(Map.of("fc2", json.get("rank_pattern").get("fc2").intValue()), config.rankPattern());
        assertEquals(Map.of("fc1", json.get("alpha_pattern").get("fc1").doubleValue()), config.alphaPattern());
        List<String> targets = new ArrayList<>();
        json.get("target_modules").forEach(n -> targets.add(n.textValue()));
        assertEquals(targets, config.targetModules().names());
        assertEquals("{'fc2', 'fc1'}", config.targetModules().describe());
    }

    @Test
    void otherGoldenFieldsDecode() {
        assertTrue(((LoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("b2_lora_mlp_rslora"))).useRslora());
        assertEquals(LoraBias.ALL,
                ((LoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("b3_lora_mlp_bias_all"))).bias());
        assertEquals(LoraBias.LORA_ONLY,
                ((LoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("b4_lora_mlp_bias_lora_only"))).bias());
        assertEquals(List.of("head"),
                AdapterConfigs.read(GoldenFiles.dir().resolve("b6_lora_mlp_modules_to_save")).modulesToSave());
        TargetModules regex = AdapterConfigs.read(GoldenFiles.dir().resolve("f1_lora_mlp_regex")).targetModules();
        assertTrue(regex.isRegex());
        assertEquals(".*fc[12]", regex.regex());
        LoraConfig dummy = (LoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("a_lora_dummy"));
        assertEquals(0.1, dummy.loraDropout());
        assertEquals(16.0, dummy.loraAlpha());
    }

    @Test
    void integerAndFloatAlphaAreWrittenAsGiven() {
        LoraConfig asInt = LoraConfig.builder().loraAlpha(16).targetModules(List.of("fc1")).build();
        LoraConfig asFloat = LoraConfig.builder().loraAlpha(16.0).targetModules(List.of("fc1")).build();
        assertEquals(asInt.loraAlpha(), asFloat.loraAlpha());
        assertTrue(AdapterConfigs.toJson(asInt).contains("\"lora_alpha\": 16,"));
        assertTrue(AdapterConfigs.toJson(asFloat).contains("\"lora_alpha\": 16.0,"));
        LoraConfig read = (LoraConfig) AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"lora_alpha\": 16.0, \"lora_dropout\": 0, \"target_modules\": [\"a\"]}",
                "test");
        String written = AdapterConfigs.toJson(read);
        assertTrue(written.contains("\"lora_alpha\": 16.0,"), written);
        assertTrue(written.contains("\"lora_dropout\": 0,"), written);
    }

    @Test
    void withRankPatternReturnsAnIndependentCopy() {
        LoraConfig config = LoraConfig.builder().r(4).targetModules(List.of("fc1", "fc2")).build();
        Map<String, Integer> pattern = new LinkedHashMap<>();
        pattern.put("fc2", 2);
        pattern.put("fc1", 6);
        LoraConfig changed = config.withRankPattern(pattern);
        pattern.put("other", 1);
        assertEquals(Map.of(), config.rankPattern());
        assertEquals(List.of("fc2", "fc1"), new ArrayList<>(changed.rankPattern().keySet()), "insertion order");
        assertEquals(6, changed.rankPattern().get("fc1"));
        assertEquals(config.r(), changed.r());
        assertNotEquals(config, changed);
        assertTrue(AdapterConfigs.toJson(changed)
                .contains("\"rank_pattern\": {\n    \"fc1\": 6,\n    \"fc2\": 2\n  },"));
    }

    @Test
    void withTargetModulesAndInferenceMode() {
        LoraConfig config = LoraConfig.builder().targetModules("all-linear").build();
        assertTrue(config.targetModules().isAllLinear());
        LoraConfig expanded = config.withTargetModules(TargetModules.ofNames(List.of("fc1", "head")));
        assertEquals(List.of("fc1", "head"), expanded.targetModules().names());
        assertTrue(config.targetModules().isAllLinear());
        assertTrue(expanded.withInferenceMode(true).inferenceMode());
        assertFalse(expanded.inferenceMode());
    }

    @Test
    void layersToTransformAndPatternKeepTheirJsonForm() {
        LoraConfig config = (LoraConfig) AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"],"
                + " \"layers_to_transform\": 1, \"layers_pattern\": \"layers\"}", "test");
        assertEquals(List.of(1), config.layersToTransform());
        assertEquals(List.of("layers"), config.layersPattern());
        String json = AdapterConfigs.toJson(config);
        assertTrue(json.contains("\"layers_to_transform\": 1,"), json);
        assertTrue(json.contains("\"layers_pattern\": \"layers\","), json);

        LoraConfig empty = (LoraConfig) AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"],"
                + " \"layers_to_transform\": [1], \"layers_pattern\": \"\"}", "test");
        assertEquals(List.of(), empty.layersPattern(), "PEFT treats an empty string as no pattern");
    }

    @Test
    void unknownKeysWarnAndSurviveTheRoundTrip() {
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config = AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"],"
                    + " \"spam\": 123, \"foobar\": \"baz\"}", "cfg.json");
            assertEquals(List.of("foobar", "spam"), config.unknownKeys());
            assertEquals(1, capture.warnings().size(), capture.warnings()::toString);
            String warning = capture.warnings().get(0);
            assertTrue(warning.startsWith("cfg.json: "), warning);
            assertTrue(warning.contains("['foobar', 'spam']"), warning);
            String json = AdapterConfigs.toJson(config);
            assertTrue(json.contains("\"foobar\": \"baz\","), json);
            assertTrue(json.contains("\"spam\": 123,"), json);
            config.copy();
            assertEquals(1, capture.warnings().size(), "copies do not warn again");
        }
    }

    @Test
    void runtimeConfigIsDroppedWithAWarning() {
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config = AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"],"
                    + " \"runtime_config\": {\"ephemeral_gpu_offload\": false}}", "cfg.json");
            assertFalse(config.toJsonMap().containsKey("runtime_config"));
            assertEquals(1, capture.warnings().size());
            assertTrue(capture.warnings().get(0).contains("`runtime_config`"));
        }
    }

    @Test
    void ignoredLoftqConfigWarnsAsPeft() {
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"],"
                    + " \"loftq_config\": {\"loftq_bits\": 4}}", "cfg.json");
            assertEquals(List.of("cfg.json: `loftq_config` specified but will be ignored when `init_lora_weights` "
                    + "is not 'loftq'."), capture.warnings());
        }
    }

    @Test
    void decomposedInitialisationsAreReadAsPeftReadsThem() {
        LoraConfig niter = (LoraConfig) AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], \"init_lora_weights\": \"pissa_niter_4\"}",
                "t");
        assertEquals(InitLoraWeights.Kind.PISSA, niter.initLoraWeights().kind());
        assertEquals(4, niter.initLoraWeights().niter());
        assertTrue(niter.initLoraWeights().randomized());
        assertTrue(AdapterConfigs.toJson(niter).contains("\"init_lora_weights\": \"pissa_niter_4\","));
        assertEquals(InitLoraWeights.pissaNiter(4), niter.initLoraWeights());
        assertEquals("pissa_niter_4", LoraConfig.builder().initLoraWeights(InitLoraWeights.pissaNiter(4))
                .targetModules(List.of("q")).build().initLoraWeights().jsonValue());
        assertFalse(InitLoraWeights.PISSA.randomized());
        assertEquals(InitLoraWeights.OLORA, InitLoraWeights.fromJson("OLoRA"), "olora: .lower() == 'olora'");
        assertEquals(InitLoraWeights.ORTHOGONAL, InitLoraWeights.fromJson("orthogonal"));
        assertTrue(InitLoraWeights.PISSA.changesBaseWeights() && InitLoraWeights.OLORA.changesBaseWeights());
        assertFalse(InitLoraWeights.ORTHOGONAL.changesBaseWeights());
        assertNull(InitLoraWeights.fromJson("Orthogonal"), "orthogonal is compared exactly: falls to PEFT's reset");
        PeftConfigException bad = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], \"init_lora_weights\": \"pissa_fast\"}", "t"));
        assertEquals("init_lora_weights should be 'pissa' or 'pissa_niter_[number of iters]', got pissa_fast "
                + "instead.", bad.peftMessage());
        PeftConfigException letters = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], \"init_lora_weights\": \"pissa_niter_x\"}",
                "t"));
        assertEquals("invalid literal for int() with base 10: 'x'", letters.peftMessage());
    }

    @Test
    void gaussianIsCaseInsensitiveAndKeptAsWritten() {
        LoraConfig config = (LoraConfig) AdapterConfigs.parse(
                "{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], \"init_lora_weights\": \"Gaussian\"}", "t");
        assertEquals(InitLoraWeights.GAUSSIAN, config.initLoraWeights());
        assertTrue(AdapterConfigs.toJson(config).contains("\"init_lora_weights\": \"Gaussian\","));
        assertEquals(InitLoraWeights.FALSE, LoraConfig.builder().initLoraWeights(InitLoraWeights.FALSE)
                .targetModules(List.of("q")).build().initLoraWeights());
    }

    @Test
    void builderSetAcceptsUninterpretedFields() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("q")).taskType("CAUSAL_LM")
                .baseModelNameOrPath("m").set("megatron_core", "x.core").build();
        assertEquals("CAUSAL_LM", config.jsonValue("task_type"));
        assertEquals("m", config.jsonValue("base_model_name_or_path"));
        assertEquals("x.core", config.jsonValue("megatron_core"));
        assertSame(PeftType.LORA, config.peftType());
        assertTrue(config.source().contains("LoraConfig"), config.source());
    }
}

package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adalora.AdaLoraConfig;
import io.peft4j.lora.LoraConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class AdaLoraConfigTest {

    @Test
    void goldenValuesDecode() {
        AdaLoraConfig config = (AdaLoraConfig) AdapterConfigs.read(GoldenFiles.dir().resolve("e_adalora_mlp"));
        JsonNode json = GoldenFiles.json("e_adalora_mlp/adapter_config.json");
        assertEquals(PeftType.ADALORA, config.peftType());
        assertEquals(json.get("init_r").intValue(), config.initR());
        assertEquals(json.get("target_r").intValue(), config.targetR());
        assertEquals(json.get("total_step").intValue(), config.totalStep());
        assertEquals(json.get("tinit").intValue(), config.tinit());
        assertEquals(json.get("tfinal").intValue(), config.tfinal());
        assertEquals(json.get("deltaT").intValue(), config.deltaT());
        assertEquals(json.get("beta1").doubleValue(), config.beta1());
        assertEquals(json.get("beta2").doubleValue(), config.beta2());
        assertEquals(json.get("orth_reg_weight").doubleValue(), config.orthRegWeight());
        assertTrue(json.get("rank_pattern").isNull());
        assertEquals(Map.of(), config.rankMasks());
        assertEquals(Map.of(), config.rankPattern());
        assertTrue(config instanceof LoraConfig, "AdaLoraConfig extends LoraConfig, as in PEFT");
    }

    @Test
    void builderWritesExactlyTheKeysPeftWrites() {
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().initR(6).targetR(4).totalStep(100)
                .targetModules(List.of("fc2", "fc1")).build();
        TreeSet<String> keys = new TreeSet<>();
        GoldenFiles.json("e_adalora_mlp/adapter_config.json").fieldNames().forEachRemaining(keys::add);
        assertEquals(keys, new TreeSet<>(config.toJsonMap().keySet()));
        assertEquals(GoldenFiles.text("e_adalora_mlp/adapter_config.json"), AdapterConfigs.toJson(config));
        assertNull(AdaLoraConfig.adaLoraBuilder().totalStep(10).build().jsonValue("rank_pattern"));
    }

    @Test
    void missingTotalStepIsRejectedWithPeftsMessage() {
        String expected = GoldenFiles.json("f2_errors/errors.json").get("adalora_missing_total_step")
                .get("error").get("message").textValue();
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdaLoraConfig.adaLoraBuilder()
                .initR(6).targetR(4).targetModules(List.of("fc1", "fc2")).build());
        assertEquals(expected, e.peftMessage());
        assertEquals("total_step", e.field());
        assertThrows(PeftConfigException.class, () -> AdaLoraConfig.adaLoraBuilder().totalStep(0).build());
    }

    @Test
    void scheduleWithoutBudgetingPhaseIsRejected() {
        // the cases of PEFT's test_adalora_config_timing_bounds_error
        int[][] cases = {{100, 20, 80}, {100, 80, 20}, {10, 20, 0}, {10, 0, 10}, {10, 10, 0}, {10, 20, 20},
            {10, 0, 20}};
        for (int[] c : cases) {
            PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdaLoraConfig.adaLoraBuilder()
                    .totalStep(c[0]).tinit(c[1]).tfinal(c[2]).build());
            assertEquals("The supplied schedule values don't allow for a budgeting phase. Decrease `tfinal`/`tinit` "
                    + "or increase `total_step`.", e.peftMessage());
        }
        AdaLoraConfig.adaLoraBuilder().totalStep(100).tinit(20).tfinal(79).build();
    }

    @Test
    void doraAndLoftqAreRejectedAsPeftDoes() {
        PeftConfigException dora = assertThrows(PeftConfigException.class,
                () -> AdaLoraConfig.adaLoraBuilder().totalStep(10).useDora(true).build());
        assertEquals("use_dora", dora.field());
        assertTrue(dora.peftMessage().endsWith("does not support DoRA."), dora.peftMessage());
        PeftConfigException loftq = assertThrows(PeftConfigException.class, () -> AdaLoraConfig.adaLoraBuilder()
                .totalStep(10).set("init_lora_weights", "loftq").set("loftq_config", Map.of("loftq_bits", 4))
                .build());
        assertEquals("loftq_config", loftq.field());
        assertTrue(loftq.peftMessage().endsWith("does not support LOFTQ."), loftq.peftMessage());
    }

    @Test
    void settingRWarnsThatItIsIgnored() {
        try (WarningCapture capture = new WarningCapture()) {
            AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().totalStep(10).r(0).build();
            assertEquals(0, config.r(), "r is ignored by AdaLoRA, so r=0 is no error");
            assertEquals(1, capture.warnings().size());
            assertTrue(capture.warnings().get(0).endsWith("Note that `r` is not used in AdaLora and will be ignored."
                    + "If you intended to set the initial rank, use `init_r` instead."), capture.warnings()::toString);
        }
    }

    @Test
    void negativeInitRIsRejected() {
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> AdaLoraConfig.adaLoraBuilder().totalStep(10).initR(-1).build());
        assertEquals("`r` should be a positive integer or 0, but the value passed is -1", e.peftMessage());
    }

    @Test
    void rankPatternHoldsMasksAsPeftsAdaLoraWritesThem() {
        Map<String, List<Boolean>> masks = new LinkedHashMap<>();
        masks.put("fc1.lora_E", List.of(true, false, true));
        masks.put("fc2.lora_E", List.of(false, false, false));
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().totalStep(10).initR(3).build().withRankMasks(masks);
        assertEquals(masks, config.rankMasks());
        assertEquals(Map.of("fc1.lora_E", 2, "fc2.lora_E", 0), config.rankPattern());
        AdaLoraConfig reread = (AdaLoraConfig) AdapterConfigs.parse(AdapterConfigs.toJson(config), "again");
        assertEquals(config, reread);
        assertThrows(UnsupportedOperationException.class, () -> config.withRankPattern(Map.of("fc1", 2)));
        PeftConfigException ints = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                "{\"peft_type\": \"ADALORA\", \"total_step\": 10, \"rank_pattern\": {\"fc1\": 2}}", "t"));
        assertEquals("rank_pattern", ints.field());
    }
}

package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraBias;
import java.util.List;
import org.junit.jupiter.api.Test;

class TargetModulesTest {

    @Test
    void describeAsPeftPrintsIt() {
        assertEquals("{'does_not_exist'}", TargetModules.ofNames(List.of("does_not_exist")).describe());
        assertEquals("{'a', 'b'}", TargetModules.ofNames(List.of("a", "b")).describe());
        assertEquals("set()", TargetModules.ofNames(List.of()).describe());
        assertEquals(".*nothing.*", TargetModules.ofRegex(".*nothing.*").describe());
    }

    @Test
    void listAndRegexAccessors() {
        TargetModules names = TargetModules.ofNames(List.of("b", "a", "b"));
        assertFalse(names.isRegex());
        assertNull(names.regex());
        assertEquals(List.of("b", "a", "b"), names.names(), "config order kept");
        assertEquals(List.of("b", "a", "b"), names.toJson());
        TargetModules regex = TargetModules.ofRegex(".*fc[12]");
        assertTrue(regex.isRegex());
        assertEquals(List.of(), regex.names());
        assertEquals(".*fc[12]", regex.toJson());
        assertEquals(regex, TargetModules.ofRegex(".*fc[12]"));
    }

    @Test
    void allLinearIsCaseInsensitive() {
        assertTrue(TargetModules.ofRegex("all-linear").isAllLinear());
        assertTrue(TargetModules.ofRegex("ALL-Linear").isAllLinear());
        assertFalse(TargetModules.ofRegex("all_linear").isAllLinear());
        assertFalse(TargetModules.ofNames(List.of("all-linear")).isAllLinear(), "only the string form");
    }

    @Test
    void emptinessIsPythonsFalsiness() {
        assertTrue(TargetModules.ofNames(List.of()).isEmpty());
        assertTrue(TargetModules.ofRegex("").isEmpty());
        assertFalse(TargetModules.ofRegex(".*").isEmpty());
    }

    @Test
    void peftTypeNames() {
        assertEquals("ADALORA", PeftType.ADALORA.jsonName());
        assertEquals(PeftType.IA3, PeftType.fromJson("IA3"));
        assertEquals("lora_only", LoraBias.LORA_ONLY.jsonName());
        assertEquals(Boolean.FALSE, InitLoraWeights.FALSE.jsonValue());
        assertEquals("gaussian", InitLoraWeights.GAUSSIAN.jsonValue());
        assertNull(InitLoraWeights.fromJson("eva"));
    }
}

package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.ia3.IA3Config;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class IA3ConfigTest {

    @Test
    void goldenValuesDecode() {
        IA3Config config = (IA3Config) AdapterConfigs.read(GoldenFiles.dir().resolve("d_ia3_mlp"));
        assertEquals(PeftType.IA3, config.peftType());
        assertEquals(List.of("fc2"), config.feedforwardModules().names());
        assertEquals(List.of("fc2", "fc1"), config.targetModules().names());
        assertTrue(config.initIa3Weights());
        assertNull(config.layersToTransform(), "IA3 has no layers_to_transform");
    }

    @Test
    void builderReproducesPeftsFile() {
        IA3Config config = IA3Config.builder().targetModules(List.of("fc2", "fc1"))
                .feedforwardModules(List.of("fc2")).build();
        TreeSet<String> keys = new TreeSet<>();
        GoldenFiles.json("d_ia3_mlp/adapter_config.json").fieldNames().forEachRemaining(keys::add);
        assertEquals(keys, new TreeSet<>(config.toJsonMap().keySet()));
        assertEquals(GoldenFiles.text("d_ia3_mlp/adapter_config.json"), AdapterConfigs.toJson(config));
    }

    @Test
    void feedforwardNotSubsetIsRejectedWithPeftsMessage() {
        String expected = GoldenFiles.json("f2_errors/errors.json").get("ia3_feedforward_not_subset")
                .get("error").get("message").textValue();
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> IA3Config.builder()
                .targetModules(List.of("fc1")).feedforwardModules(List.of("fc2")).build());
        assertEquals(expected, e.peftMessage());
        assertEquals("feedforward_modules", e.field());
        assertTrue(e.getMessage().startsWith("IA3Config builder: field \"feedforward_modules\": "), e.getMessage());
    }

    @Test
    void subsetIsCheckedOnlyWhenBothAreLists() {
        // PEFT compares sets only when both fields are lists; regexes are not checked
        IA3Config.builder().targetModules(".*fc1").feedforwardModules(List.of("fc2")).build();
        IA3Config.builder().targetModules(List.of("fc1")).feedforwardModules(".*fc2").build();
        IA3Config.builder().targetModules(List.of("fc1", "fc2")).feedforwardModules(List.of("fc2", "fc2")).build();
        IA3Config.builder().targetModules(List.of("does_not_exist")).feedforwardModules(List.of()).build();
    }
}

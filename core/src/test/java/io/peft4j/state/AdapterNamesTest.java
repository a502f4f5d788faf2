package io.peft4j.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The adapter-name rules of PEFT 0.20's {@code peft.utils.save_and_load}:
 * {@code _filter_state_dict_for_adapter_name}, {@code remove_adapter_name} (inside {@code get_peft_model_state_dict})
 * and {@code _insert_adapter_name_into_state_dict} (used by {@code set_peft_model_state_dict}); the expected values
 * are what those functions return for the keys.
 */
class AdapterNamesTest {

    @ParameterizedTest(name = "{0} without {1} -> {2}")
    @CsvSource({
        "fc1.lora_A.default.weight, default, fc1.lora_A.weight",
        "fc1.lora_A.lora.weight, lora, fc1.lora_A.weight",
        "fc1.ia3_l.other, other, fc1.ia3_l",
        "fc1.lora_E.default, default, fc1.lora_E",
        "fc1.lora_magnitude_vector.default, default, fc1.lora_magnitude_vector",
        "decoder.fc2.lora_A.de.weight, de, decoder.fc2.lora_A.weight",
        // the name only counts as the last or second-to-last segment
        "default.fc1.lora_A.x.weight, default, default.fc1.lora_A.x.weight",
        "fc1.base_layer.bias, default, fc1.base_layer.bias",
        "head.modules_to_save.default.bias, default, head.modules_to_save.bias",
        // a segment that merely ends with the name is not the name
        "fc1.lora_A.made.weight, de, fc1.lora_A.made.weight",
        "weight, default, weight"})
    void removeIsPeftsRemoveAdapterName(String key, String adapter, String expected) {
        assertEquals(expected, AdapterNames.remove(key, adapter));
    }

    @ParameterizedTest(name = "{0} with {1} ({2}) -> {3}")
    @CsvSource({
        "fc1.lora_A.weight, default, lora_, fc1.lora_A.default.weight",
        "fc1.lora_A.weight, lora, lora_, fc1.lora_A.lora.weight",
        "fc1.ia3_l, other, ia3_, fc1.ia3_l.other",
        "fc1.lora_E, default, lora_, fc1.lora_E.default",
        "embedding.lora_embedding_A, x, lora_, embedding.lora_embedding_A.x",
        // only the end of the key is replaced: 'weight' inside a module name stays
        "weight.lora_A.weight, de, lora_, weight.lora_A.de.weight",
        // the last occurrence of the prefix counts (rpartition)
        "lora_head.lora_B.bias, a, lora_, lora_head.lora_B.a.bias",
        "fc1.base_layer.bias, default, lora_, fc1.base_layer.bias"})
    void insertIsPeftsInsertAdapterName(String key, String adapter, String prefix, String expected) {
        assertEquals(expected, AdapterNames.insert(key, adapter, prefix));
    }

    @Test
    void otherAdaptersKeysAreWholeSegments() {
        // 'de' and 'default' (golden h5): a plain substring test would take default's keys for de's
        assertFalse(AdapterNames.belongsToAnother("fc2.lora_A.default.weight", List.of("de")));
        assertTrue(AdapterNames.belongsToAnother("fc2.lora_A.de.weight", List.of("default", "de")));
        assertTrue(AdapterNames.belongsToAnother("fc2.ia3_l.other", List.of("other")));
        assertTrue(AdapterNames.belongsToAnother("head.modules_to_save.other.bias", List.of("other")));
        assertFalse(AdapterNames.belongsToAnother("head.original_module.bias", List.of("other")));
        assertFalse(AdapterNames.belongsToAnother("fc1.base_layer.bias", List.of("default")));
    }
}

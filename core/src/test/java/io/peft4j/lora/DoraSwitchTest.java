package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftConfigException;
import org.junit.jupiter.api.Test;

/** LoRA's switch for DoRA, moved here from {@code ConfigErrorsTest} with {@code LoraConfig}. */
class DoraSwitchTest {

    @Test
    void useDoraMessageShowsTheValueWhenSwitchedOff() {
        boolean before = LoraConfig.doraSupported;
        LoraConfig.doraSupported = false;
        try {
            PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.parse(
                    "{\"peft_type\": \"LORA\", \"target_modules\": [\"fc1\"], \"use_dora\": true}",
                    "my/adapter_config.json"));
            assertEquals("my/adapter_config.json: field \"use_dora\": value true is not supported by peft4j yet",
                    e.getMessage());
        } finally {
            LoraConfig.doraSupported = before;
        }
    }
}

package io.peft4j.agent;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Adapter names that JMX {@code load} and {@code dump} accept: plain directory names only. */
class AdapterControlTest {

    @Test
    void plainNamesAreAccepted() {
        for (String name : new String[] {"default", "other", "v1.2", "my_adapter-3", "A"}) {
            AdapterControl.checkName(name);
        }
    }

    @Test
    void pathsAndDotsAreRefused() {
        for (String name : new String[] {"", "..", ".", "../x", "a/b", "a\\b", "/abs", ".hidden", "a..b", "a b",
            "x\u0000", null}) {
            assertThrows(IllegalArgumentException.class, () -> AdapterControl.checkName(name), String.valueOf(name));
        }
    }
}

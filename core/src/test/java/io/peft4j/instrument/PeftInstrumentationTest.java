package io.peft4j.instrument;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftInstrumentationTest {

    @Test
    void everyDjlClassIsInstrumentedWhenLoadedOrAlreadyLoaded() throws ClassNotFoundException {
        PeftInstrumentation.ensureInstalled();
        for (String name : PeftInstrumentation.DJL_CLASSES) {
            Class.forName(name, false, PeftInstrumentationTest.class.getClassLoader()); // woven as it loads
        }
        for (String name : PeftInstrumentation.DJL_CLASSES) {
            assertTrue(PeftInstrumentation.transformedTypes().contains(name), name + " instrumented; got "
                    + PeftInstrumentation.transformedTypes());
        }
        assertTrue(PeftInstrumentation.transformedTypes().contains("ai.djl.pytorch.engine.PtGradientCollector"));
        assertEquals(0, PeftInstrumentation.transformErrors(), "transformation errors");
        for (String module : DjlWeaver.MODULES) {
            assertTrue(Arrays.asList(PeftInstrumentation.DJL_CLASSES).contains(module.replace('/', '.')),
                    module + " is in the list of instrumented classes");
        }
    }
}

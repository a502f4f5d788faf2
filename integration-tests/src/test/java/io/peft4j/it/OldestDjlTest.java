package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The oldest DJL peft4j claims to support (README, "DJL versions"): a golden PEFT case through the agent, with the
 * whole build and the application on that DJL and its libtorch. Runs only under {@code -P djl-oldest}, which sets
 * {@code peft4j.djl.oldest}; {@code .ci/run} runs it after the main build.
 */
@EnabledIfSystemProperty(named = "peft4j.djl.oldest", matches = "\\d.*")
class OldestDjlTest {

    @Test
    void goldenCaseThroughTheAgent() throws IOException {
        String version = System.getProperty("peft4j.djl.oldest");
        String api = "api-" + version + ".jar";
        String[] classpath = ItEnvironment.applicationClasspath().split(File.pathSeparator);
        assertTrue(Arrays.stream(classpath).anyMatch(p -> p.endsWith(File.separator + api)),
                () -> "the application does not run on DJL " + version + ": " + String.join("\n", classpath));
        // modules_to_save: besides the Linear forward, the weaving of ParameterStore.getValue and getParameters.
        GoldenThroughAgentTest.assertReproducesPeft("b6_lora_mlp_modules_to_save", "oldest-djl/b6");
    }
}

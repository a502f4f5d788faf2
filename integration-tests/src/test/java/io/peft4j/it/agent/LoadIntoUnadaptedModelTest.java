package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * An agent started with only {@code adapterRoot} (no adapter): the model serves its base output until an operator
 * loads an adapter by name through JMX, after which it serves PEFT's adapted output.
 */
class LoadIntoUnadaptedModelTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");

    @Test
    void jmxLoadAdaptsAModelThatStartedWithoutAdapters() {
        Path work = Env.freshDir("agent/load-into-unadapted");
        try (App app = App.of("ServeApp").agent("adapterRoot=" + CASE).args(CASE, "--step").start(work, "app")) {
            app.await(0, "PREDICTOR t=1"::equals, "the Predictor");
            app.send("run");
            int first = app.await(0, Tensors::isOut, "the first output");
            float[] base = Tensors.parse(app.lines().get(first)).values();
            try (Jmx jmx = Jmx.connect(app.pid()).awaitRegistered()) {
                String[] models = (String[]) jmx.get("Models");
                assertTrue(models.length == 1 && models[0].endsWith(": no adapters"), String.join("; ", models));
                String result = jmx.invoke("load", "default");
                assertTrue(result.contains("into [Mlp#1]"), result);
                app.send("run");
                int second = app.await(first + 1, Tensors::isOut, "the output after load");
                float[] adapted = Tensors.parse(app.lines().get(second)).values();
                assertAll(() -> assertTrue(Tensors.close(base, Tensors.values(
                                CASE.resolve("expected_output_disabled.safetensors"), "output"), 1e-5), app::describe),
                        () -> assertTrue(Tensors.close(adapted, Tensors.values(
                                CASE.resolve("expected_output_default.safetensors"), "output"), 1e-5), app::describe),
                        () -> assertEquals(0, jmx.count("SuppressedErrors"), app::describe));
            }
            assertEquals(0, app.stop(), app::describe);
            assertFalse(app.stderr().contains("error while"), app::describe);
        }
    }
}

package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar peft4j-agent.jar attach <pid> adapter=DIR} against an application that is already serving: it
 * loops inference, printing each batch's output; after the attach, its outputs switch from the base model's to the
 * adapted ones, without a restart, without a mixed output and without a suppressed error. Before the attach, the
 * {@code jmx} command says peft4j is not running there; a second attach is refused politely.
 */
class RuntimeAttachTest {

    private static final Path CASE = Env.goldenCase("b1_lora_mlp");

    @Test
    void attachingToARunningApplicationAdaptsItsModelAtTheNextForwardPass() {
        Path work = Env.freshDir("agent/runtime-attach");
        Map<String, float[]> expected = new LinkedHashMap<>();
        expected.put("base", Tensors.values(CASE.resolve("expected_output_disabled.safetensors"), "output"));
        expected.put("adapted", Tensors.values(CASE.resolve("expected_output.safetensors"), "output"));
        try (App app = App.of("ServeApp").args(CASE).start(work, "app")) {
            int third = app.await(0, l -> l.startsWith("OUT t=1 n=3 "), "three batches before the attach");
            AgentCli.Result before = AgentCli.run(work, "jmx", Long.toString(app.pid()), "list");
            assertAll(() -> assertEquals(1, before.exitCode(), before::toString),
                    () -> assertTrue(before.stderr().contains("peft4j is not running in pid " + app.pid()),
                            before::toString));
            AgentCli.Result attach = AgentCli.run(work, "attach", Long.toString(app.pid()), "adapter=" + CASE);
            assertEquals(0, attach.exitCode(), () -> attach + "\n" + app.describe());
            assertTrue(attach.stdout().contains("peft4j attached to pid " + app.pid()), attach::toString);
            int afterAttach = app.lineCount();
            int firstAdapted = app.await(third, l -> Tensors.isOut(l) && "adapted".equals(
                    Tensors.classify(Tensors.parse(l).values(), expected)), "an adapted output");
            app.await(Math.max(firstAdapted, afterAttach) + 3, Tensors::isOut, "more batches after the attach");

            AgentCli.Result again = AgentCli.run(work, "attach", Long.toString(app.pid()), "adapter=" + CASE);
            assertAll(() -> assertEquals(1, again.exitCode(), again::toString),
                    () -> assertTrue(again.stderr().contains("already running in pid " + app.pid()),
                            again::toString));
            try (Jmx jmx = Jmx.connect(app.pid()).awaitRegistered()) {
                assertAll(() -> assertEquals(0, jmx.count("SuppressedErrors"), app::describe),
                        () -> assertEquals(0, jmx.count("TransformErrors"), app::describe),
                        () -> assertTrue(((String[]) jmx.get("Models"))[0].startsWith("Mlp#1 "), app::describe));
            }
            assertEquals(0, app.stop(), app::describe);

            List<String> sequence = new ArrayList<>();
            for (Tensors.Out out : Tensors.outs(app.lines())) {
                String kind = Tensors.classify(out.values(), expected);
                assertTrue(kind != null, () -> "batch " + out.batch() + " is neither the base nor the adapted output"
                        + "\n" + app.describe());
                sequence.add(kind);
            }
            int switched = sequence.indexOf("adapted");
            assertAll(() -> assertTrue(switched >= 3, sequence::toString),
                    () -> assertFalse(sequence.subList(switched, sequence.size()).contains("base"),
                            () -> "the output went back to the base model after the switch: " + sequence),
                    () -> assertFalse(app.stderr().contains("error while"), app::describe),
                    () -> assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe),
                    () -> assertFalse(app.stderr().contains("none of its modules is targeted"), app::describe),
                    () -> assertTrue(app.stderr().contains("(forward): injecting adapter 'default'"),
                            app::describe));
        }
    }
}

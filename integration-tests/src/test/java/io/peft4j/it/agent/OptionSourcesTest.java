package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Where the agent's options come from, in a real JVM: an options file named by {@code PEFT4J_CONFIG} (relative paths
 * resolved against the file), environment variables, system properties and agent arguments in that order of
 * increasing precedence; an unknown {@code PEFT4J_} variable stops the launch naming it; {@code jmx=false} registers
 * no MXBean; a second {@code -javaagent} is refused politely while the first one works.
 */
class OptionSourcesTest {

    private static final Path CASE = Env.goldenCase("b1_lora_mlp");
    private static final float[] ADAPTED = Tensors.values(CASE.resolve("expected_output.safetensors"), "output");
    private static final float[] BASE = Tensors.values(CASE.resolve("expected_output_disabled.safetensors"),
            "output");

    /**
     * Runs one batch of ServeApp over b1 and stops it; returns the output, or null when it never got one. Fails when
     * the agent suppressed an error in its hooks.
     */
    private static Run runOnce(App.Builder builder, Path work, String name) {
        Run run;
        try (App app = builder.args(CASE, "--step").start(work, name)) {
            int ready = app.await(0, l -> l.startsWith("PREDICTOR") || l.startsWith("FAILED"), "the Predictor");
            if (app.lines().get(ready).startsWith("FAILED")) {
                run = new Run(null, app.stop(), app.stderr(), app.describe());
            } else {
                app.send("run");
                int out = app.await(ready, Tensors::isOut, "an output");
                float[] values = Tensors.parse(app.lines().get(out)).values();
                run = new Run(values, app.stop(), app.stderr(), app.describe());
            }
        }
        assertFalse(run.stderr().contains("error while"), run::describe);
        return run;
    }

    record Run(float[] output, int exitCode, String stderr, String describe) {
        boolean adapted() {
            return output != null && Tensors.close(output, ADAPTED, 1e-5);
        }

        boolean base() {
            return output != null && Tensors.close(output, BASE, 1e-5);
        }
    }

    private static Path optionsFile(Path work) throws IOException {
        Path adapter = Files.createDirectories(work.resolve("conf/adapters/b1"));
        try (Stream<Path> files = Files.list(CASE)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("adapter_")).toList()) {
                Files.copy(f, adapter.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path file = work.resolve("conf/peft4j.properties");
        Files.writeString(file, "# peft4j options\nadapter = adapters/b1\nonError = fail\n");
        return file;
    }

    @Test
    void anOptionsFileNamedByTheEnvironmentConfiguresTheAgent() throws IOException {
        Path work = Env.freshDir("agent/options-file");
        Path file = optionsFile(work);
        Run run = runOnce(App.of("ServeApp").agent(null).env("PEFT4J_CONFIG", file.toString()), work, "file");
        assertAll(() -> assertEquals(0, run.exitCode(), run::describe),
                () -> assertTrue(run.adapted(), run::describe),
                () -> assertTrue(run.stderr().contains("adapter=" + work.resolve("conf/adapters/b1") + " (options file "
                        + file + ")"), run::describe),
                () -> assertFalse(run.stderr().contains("error while"), run::describe));
    }

    @Test
    void environmentBeatsTheFileSystemPropertiesBeatTheEnvironmentAgentArgumentsBeatSystemProperties()
            throws IOException {
        Path work = Env.freshDir("agent/options-precedence");
        Path file = optionsFile(work);
        Run envOff = runOnce(App.of("ServeApp").agent(null).env("PEFT4J_CONFIG", file.toString())
                .env("PEFT4J_ENABLED", "false"), work, "env-off");
        Run propertyOn = runOnce(App.of("ServeApp").agent(null).env("PEFT4J_CONFIG", file.toString())
                .env("PEFT4J_ENABLED", "false").property("peft4j.enabled", "true"), work, "property-on");
        Run argumentOff = runOnce(App.of("ServeApp").agent("enabled=false").env("PEFT4J_CONFIG", file.toString())
                .property("peft4j.enabled", "true"), work, "argument-off");
        assertAll(() -> assertTrue(envOff.base(), envOff::describe),
                () -> assertTrue(envOff.stderr().contains("agent disabled (enabled=false, environment variable"
                        + " PEFT4J_ENABLED)"), envOff::describe),
                () -> assertTrue(propertyOn.adapted(), propertyOn::describe),
                () -> assertTrue(argumentOff.base(), argumentOff::describe),
                () -> assertTrue(argumentOff.stderr().contains("agent disabled (enabled=false, agent argument"
                        + " enabled)"), argumentOff::describe));
    }

    @Test
    void anUnknownPeft4jEnvironmentVariableStopsTheLaunchNamingIt() {
        Path work = Env.freshDir("agent/options-unknown-env");
        try (App app = App.of("ServeApp").agent("adapter=" + CASE).env("PEFT4J_ADAPTR", CASE.toString())
                .args(CASE, "--step").start(work, "app")) {
            assertEquals(78, app.stop(), app::describe);
            assertTrue(app.stderr().contains("[peft4j] ERROR invalid peft4j options: unknown environment variable"
                    + " PEFT4J_ADAPTR"), app::describe);
            assertFalse(app.lines().stream().anyMatch(l -> l.startsWith("READY")), app::describe);
        }
    }

    @Test
    void theMxBeanIsRegisteredOnceTheFirstForwardPassHasReturned() {
        Path work = Env.freshDir("agent/options-jmx-default");
        try (App app = App.of("ServeApp").agent("adapter=" + CASE).args(CASE, "--step").start(work, "app")) {
            app.await(0, "PREDICTOR t=1"::equals, "the Predictor");
            try (Jmx jmx = Jmx.connect(app.pid())) {
                // scheduled when the Predictor revealed the model: waiting for the first pass (or done, 2 s later)
                assertTrue(jmx.hasThread("peft4j-jmx") || jmx.registered(), app::describe);
            }
            app.step();
            try (Jmx jmx = Jmx.connect(app.pid()).awaitRegistered()) {
                assertTrue(jmx.registered(), app::describe);
            }
            assertEquals(0, app.stop(), app::describe);
            // after the pass, unless the machine took more than 2 s from the Predictor to the pass's end
            assertTrue(Pattern.compile("JMX: registered MXBean io\\.peft4j:type=Adapters in \\d+ ms, (after the first"
                    + " forward pass|2 s after the model's first use \\(no forward pass yet\\)) \\(local access")
                    .matcher(app.stderr()).find(), app::describe);
            assertEquals(1, app.stderr().split("JMX: registered MXBean", -1).length - 1, app::describe);
        }
    }

    @Test
    void jmxFalseRegistersNoMxBean() {
        Path work = Env.freshDir("agent/options-jmx-false");
        try (App app = App.of("ServeApp").agent("adapter=" + CASE + ",jmx=false").args(CASE, "--step")
                .start(work, "app")) {
            app.await(0, "PREDICTOR t=1"::equals, "the Predictor");
            try (Jmx jmx = Jmx.connect(app.pid())) {
                // with jmx=true the registration is scheduled by now, on the thread peft4j-jmx
                assertFalse(jmx.registered() || jmx.hasThread("peft4j-jmx"), app::describe);
            }
            app.send("run");
            int out = app.await(0, Tensors::isOut, "an output");
            assertTrue(Tensors.close(Tensors.parse(app.lines().get(out)).values(), ADAPTED, 1e-5), app::describe);
            try (Jmx jmx = Jmx.connect(app.pid())) {
                assertFalse(jmx.registered(), app::describe);
            }
            assertEquals(0, app.stop(), app::describe);
            assertFalse(app.stderr().contains("JMX: registered"), app::describe);
        }
    }

    @Test
    void aSecondJavaagentIsRefusedPolitelyAndTheFirstWorks() {
        Path work = Env.freshDir("agent/options-twice");
        Run twice = runOnce(App.of("ServeApp").agent("adapter=" + CASE)
                .jvmArg("-javaagent:" + Env.agentJar() + "=adapter=" + CASE + ",name=second"), work, "twice");
        assertAll(() -> assertEquals(0, twice.exitCode(), twice::describe),
                () -> assertTrue(twice.adapted(), twice::describe),
                () -> assertTrue(twice.stderr().contains("peft4j is already running in this JVM; ignoring this"
                        + " -javaagent"), twice::describe),
                () -> assertFalse(twice.stderr().contains("'second'"), twice::describe));
    }
}

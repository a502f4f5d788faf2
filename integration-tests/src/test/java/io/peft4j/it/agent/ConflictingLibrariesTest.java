package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The agent beside an application that ships its own, different versions of the libraries the agent uses: Byte Buddy
 * 1.14, Jackson 2.17 and SLF4J 1.7 with slf4j-simple (the agent has Byte Buddy 1.18 and Jackson 2.21 relocated, and
 * no SLF4J of its own). The application defines a class with its Byte Buddy, parses JSON with its Jackson and logs
 * through its SLF4J before and after the agent injects; once the application runs, the agent's messages go through
 * the application's SLF4J provider. The agent jar holds nothing outside {@code io/peft4j/} and {@code META-INF/}.
 */
class ConflictingLibrariesTest {

    private static final Path CASE = Env.goldenCase("b1_lora_mlp");

    @Test
    void theAgentJarHoldsOnlyItsOwnPackagesAndMetaInf() throws IOException {
        List<String> foreign = new ArrayList<>();
        try (JarFile jar = new JarFile(Env.agentJar().toFile())) {
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements();) {
                String name = e.nextElement().getName();
                if (!name.startsWith("io/peft4j/") && !name.startsWith("META-INF/") && !name.equals("io/")) {
                    foreign.add(name);
                }
            }
        }
        assertEquals(List.of(), foreign, "entries outside io/peft4j/ and META-INF/");
    }

    @Test
    void anApplicationWithItsOwnByteBuddyJacksonAndSlf4jKeepsThemAndGetsTheAdapter() {
        Path work = Env.freshDir("agent/conflicting-libraries");
        List<Path> shipped = List.of(Env.mavenJar("net.bytebuddy:byte-buddy:1.14.18"),
                Env.mavenJar("com.fasterxml.jackson.core:jackson-databind:2.17.2"),
                Env.mavenJar("com.fasterxml.jackson.core:jackson-core:2.17.2"),
                Env.mavenJar("com.fasterxml.jackson.core:jackson-annotations:2.17.2"),
                Env.mavenJar("org.slf4j:slf4j-api:1.7.36"),
                Env.mavenJar("org.slf4j:slf4j-simple:1.7.36"));
        String classpath = Env.appClasspath("ConflictApp", List.of("slf4j-api"), shipped);
        App app = new App.Builder(Env.APPS + "ConflictApp", classpath)
                .agent("adapter=" + CASE)
                .args(CASE)
                .start(work, "app");
        try (app) {
            app.await(0, "DONE"::equals, "the application to finish");
            assertEquals(0, app.stop(), app::describe);
        }
        List<String> out = app.lines();
        float[] adapted = Tensors.values(CASE.resolve("expected_output.safetensors"), "output");
        float[] actual = Tensors.outs(out).get(0).values();
        String stderr = app.stderr();
        assertAll(
                () -> assertTrue(Tensors.close(actual, adapted, 1e-5), () -> "not the adapted output\n"
                        + app.describe()),
                () -> assertTrue(out.stream().anyMatch(l -> l.startsWith(
                        "BYTEBUDDY before made-by-app-byte-buddy from ") && l.endsWith("byte-buddy-1.14.18.jar")),
                        app::describe),
                () -> assertTrue(out.stream().anyMatch(l -> l.startsWith("BYTEBUDDY after made-by-app-byte-buddy from ")
                        && l.endsWith("byte-buddy-1.14.18.jar")), app::describe),
                () -> assertTrue(out.stream().anyMatch(l -> l.startsWith("JACKSON after size=3 version=2.17.2 from ")
                        && l.endsWith("jackson-databind-2.17.2.jar")), app::describe),
                () -> assertTrue(out.stream().anyMatch(l -> l.startsWith(
                        "SLF4J after org.slf4j.impl.SimpleLoggerFactory") && l.endsWith("slf4j-api-1.7.36.jar")),
                        app::describe),
                () -> assertTrue(stderr.contains("INFO io.peft4j.tuner.ModelAdapters - injected LORA adapter 'default'"
                        + " into 'fc1'"), () -> "the agent's messages did not go through the application's SLF4J\n"
                        + app.describe()),
                () -> assertTrue(stderr.contains("INFO io.peft4j.it.agent.apps.ConflictApp - SLF4J after app logging"
                        + " works"), app::describe),
                () -> assertFalse(stderr.contains("error while"), app::describe),
                () -> assertFalse(stderr.contains("ERROR"), app::describe),
                () -> assertFalse(stderr.contains("[peft4j] INFO injected") || stderr.contains("[peft4j] INFO model"),
                        () -> "stderr fallback used after start-up although the application has an SLF4J provider\n"
                                + app.describe()));
    }
}

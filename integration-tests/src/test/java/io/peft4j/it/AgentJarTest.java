package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The shipped agent jar: self-contained but never clashing with the application, i.e. no DJL classes, Byte Buddy,
 * EJML and f2j only relocated under {@code io/peft4j/}, and a manifest the JVM accepts for {@code -javaagent} and
 * attach with retransformation; the project's license and notice, and the options reference the help points to.
 */
class AgentJarTest {

    private static final Pattern VERSIONED = Pattern.compile("^META-INF/versions/\\d+/(.*)$");

    @Test
    void containsOnlyPeft4jClasses() throws IOException {
        List<String> djl = new ArrayList<>();
        List<String> foreign = new ArrayList<>();
        List<String> foreignServices = new ArrayList<>();
        try (JarFile jar = new JarFile(ItEnvironment.agentJar().toFile())) {
            for (JarEntry entry : Collections.list(jar.entries())) {
                String name = entry.getName();
                Matcher versioned = VERSIONED.matcher(name);
                String path = versioned.matches() ? versioned.group(1) : name;
                if (path.startsWith("ai/djl/")) {
                    djl.add(name);
                }
                if (path.endsWith(".class") && !path.startsWith("io/peft4j/")) {
                    foreign.add(name);
                }
                if (name.startsWith("META-INF/services/") && !name.startsWith("META-INF/services/io.peft4j.")
                        && !entry.isDirectory()) {
                    foreignServices.add(name);
                }
            }
        }
        assertAll(
                () -> assertEquals(List.of(), djl, "DJL entries in the agent jar (the application brings DJL)"),
                () -> assertEquals(List.of(), limit(foreign),
                        "class files outside io/peft4j/ (unrelocated Byte Buddy / EJML?), " + foreign.size()
                                + " in total"),
                () -> assertEquals(List.of(), foreignServices,
                        "service files for non-peft4j interfaces (they would leak into the application)"));
    }

    @Test
    void manifestDeclaresAgentEntryPointsAndRetransformation() throws IOException {
        try (JarFile jar = new JarFile(ItEnvironment.agentJar().toFile())) {
            assertNotNull(jar.getManifest(), "the agent jar has no manifest");
            Attributes main = jar.getManifest().getMainAttributes();
            String premain = main.getValue("Premain-Class");
            String agent = main.getValue("Agent-Class");
            assertAll(
                    () -> assertNotNull(premain, "Premain-Class"),
                    () -> assertNotNull(agent, "Agent-Class"),
                    () -> assertEquals("true", main.getValue("Can-Retransform-Classes"), "Can-Retransform-Classes"),
                    () -> assertTrue(premain != null && jar.getEntry(premain.replace('.', '/') + ".class") != null,
                            () -> "Premain-Class " + premain + " is not in the jar"),
                    () -> assertTrue(agent != null && jar.getEntry(agent.replace('.', '/') + ".class") != null,
                            () -> "Agent-Class " + agent + " is not in the jar"));
        }
    }

    @Test
    void registersEveryPeftMethodForTheServiceLoader() throws IOException {
        try (JarFile jar = new JarFile(ItEnvironment.agentJar().toFile())) {
            JarEntry services = jar.getJarEntry("META-INF/services/io.peft4j.config.PeftMethod");
            assertNotNull(services, "the agent jar does not register the PEFT methods");
            List<String> methods = new ArrayList<>();
            try (InputStream in = jar.getInputStream(services)) {
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank() && !line.startsWith("#")) {
                        methods.add(line.trim());
                    }
                }
            }
            assertEquals(List.of("io.peft4j.lora.LoraMethod", "io.peft4j.ia3.Ia3Method",
                    "io.peft4j.adalora.AdaLoraMethod"), methods);
            for (String method : methods) {
                assertNotNull(jar.getEntry(method.replace('.', '/') + ".class"), method + " is not in the jar");
            }
        }
    }

    @Test
    void carriesTheLicenseTheNoticeAndTheOptionsReference() throws IOException {
        try (JarFile jar = new JarFile(ItEnvironment.agentJar().toFile())) {
            assertAll(
                    () -> assertArrayEquals(Files.readAllBytes(Path.of("../LICENSE")), entry(jar, "META-INF/LICENSE"),
                            "META-INF/LICENSE is the project's (Apache-2.0), not a bundled library's"),
                    () -> assertArrayEquals(Files.readAllBytes(Path.of("../NOTICE")), entry(jar, "META-INF/NOTICE"),
                            "META-INF/NOTICE is the project's, listing every bundled library"),
                    () -> assertArrayEquals(Files.readAllBytes(Path.of("../agent/OPTIONS.md")),
                            entry(jar, "META-INF/peft4j/OPTIONS.md"), "the reference `help options` points to"),
                    // The bundled libraries' own third-party texts that NOTICE refers to.
                    () -> assertNotNull(jar.getEntry("META-INF/licenses/ASM"), "ASM's license (inside Byte Buddy)"));
        }
    }

    @Test
    void noticeNamesTheVersionsThatAreShaded() throws IOException {
        String notice = Files.readString(Path.of("../NOTICE"));
        for (String property : List.of("peft4j.bytebuddy.version", "peft4j.ejml.version", "peft4j.f2j.version")) {
            String version = System.getProperty(property);
            assertNotNull(version, property + " (set by the pom)");
            assertTrue(notice.contains(" " + version + " "), () -> "NOTICE does not name " + property + " " + version
                    + ": update it with the dependency");
        }
    }

    private static byte[] entry(JarFile jar, String name) throws IOException {
        JarEntry entry = jar.getJarEntry(name);
        assertNotNull(entry, name + " is not in the agent jar");
        try (InputStream in = jar.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }

    private static List<String> limit(List<String> names) {
        return names.size() <= 20 ? names : names.subList(0, 20);
    }
}

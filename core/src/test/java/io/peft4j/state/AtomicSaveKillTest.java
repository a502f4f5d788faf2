package io.peft4j.state;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Saving is atomic: a JVM saving an adapter over and over into one directory is killed with SIGKILL at random
 * moments (each writer has completed one save before), and after every kill the directory holds one complete
 * adapter, the old or the new, byte for byte. {@code mvn verify} kills 3 times; the full run kills 50:
 * {@code mvn -B -pl core -am verify -Dtest=AtomicSaveKillTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dpeft4j.kills=50}.
 */
class AtomicSaveKillTest {

    private static final int KILLS = Integer.getInteger("peft4j.kills", 3);

    @Test
    void aKilledSaveLeavesTheOldOrTheNewCompleteAdapter(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("peft4j.kills.seed", System.nanoTime());
        Random random = new Random(seed);
        Path target = dir.resolve("target");
        int complete = 0;
        for (int kill = 0; kill < KILLS; kill++) {
            Path err = dir.resolve("writer-" + kill + ".err");
            Process writer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
                    SaveLoopMain.class.getName(), dir.toString()).redirectError(err.toFile()).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line = out.readLine();
                while (line != null && !line.equals("READY")) {
                    line = out.readLine();
                }
                assertEquals("READY", line, "the writer died before saving: " + Files.readString(err));
                long delayMicros = random.nextInt(300_000);
                TimeUnit.MICROSECONDS.sleep(delayMicros);
                writer.destroyForcibly();
                assertTrue(writer.waitFor(60, TimeUnit.SECONDS), "the writer did not die");
                assertEquals(137, writer.exitValue(), "killed by SIGKILL");
                assertTrue(Files.exists(target), "the target vanished after kill " + kill + " (seed " + seed + ")");
                complete++;
                String when = "after kill " + kill + " at " + delayMicros + " us (seed " + seed + ")";
                assertArrayEquals(bytes(dir.resolve("a/adapter_config.json")),
                        bytes(target.resolve("adapter_config.json")), "config " + when);
                byte[] weights = bytes(target.resolve("adapter_model.safetensors"));
                assertTrue(Arrays.equals(weights, bytes(dir.resolve("a/adapter_model.safetensors")))
                        || Arrays.equals(weights, bytes(dir.resolve("b/adapter_model.safetensors"))),
                        "the weights are neither the old nor the new adapter " + when);
            }
        }
        System.out.println("AtomicSaveKillTest: " + KILLS + " kills (seed " + seed + "), target complete after "
                + complete);
        try (Stream<Path> files = Files.list(target)) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("."))
                    .sorted().toList();
            assertEquals(List.of("adapter_config.json", "adapter_model.safetensors"), names);
        }
    }

    private static byte[] bytes(Path file) throws Exception {
        return Files.readAllBytes(file);
    }
}

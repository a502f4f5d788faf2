package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's quick start works as printed: its application source (the {@code java} block declaring
 * {@code QuickStart}) and its {@code adapter_config.json} (the {@code json} block), compiled and launched with the
 * README's agent arguments, adapt both Linear layers, train, and leave a trained adapter in PEFT's layout.
 */
class ReadmeQuickStartTest {

    private static final Pattern BLOCK = Pattern.compile("```(\\w+)\\n(.*?)```", Pattern.DOTALL);

    @Test
    void quickStartAppRunsWithTheAgentAsPrinted() throws IOException {
        String readme = Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8);
        String source = onlyBlock(readme, "java", "public class QuickStart");
        String config = onlyBlock(readme, "json", "\"peft_type\"");
        String command = onlyBlock(readme, "bash", "com.example.QuickStart");
        assertTrue(command.contains("-javaagent:/path/to/peft4j-agent.jar=adapter=lora-adapter,save=trained-adapter"),
                "the README's java command (this test launches the same options):\n" + command);

        Path work = ItEnvironment.freshWorkDir("readme-quick-start");
        Path src = Files.createDirectories(work.resolve("src/com/example")).resolve("QuickStart.java");
        Files.writeString(src, source, StandardCharsets.UTF_8);
        Files.writeString(Files.createDirectories(work.resolve("lora-adapter")).resolve("adapter_config.json"), config,
                StandardCharsets.UTF_8);
        Path classes = TestApps.compile(src, "com.example.QuickStart",
                Files.createDirectories(work.resolve("classes")));

        ForkedJvm.Result run = new ForkedJvm("com.example.QuickStart")
                .classpath(classes + java.io.File.pathSeparator + ItEnvironment.applicationClasspath())
                .javaagent(ItEnvironment.agentJar(), "adapter=lora-adapter,save=trained-adapter")
                .run(work, "quick-start");

        List<Float> losses = new ArrayList<>();
        Matcher m = Pattern.compile("step (\\d+): loss ([0-9.]+)").matcher(run.stdout());
        while (m.find()) {
            losses.add(Float.parseFloat(m.group(2)));
        }
        Path saved = work.resolve("trained-adapter/adapter_model.safetensors");
        assertAll(() -> assertEquals(0, run.exitCode(), run::describe),
                () -> assertTrue(run.stderr().contains("injected LORA adapter 'default' into '0' (Linear(16 -> 32))"),
                        run::describe),
                () -> assertTrue(run.stderr().contains("injected LORA adapter 'default' into '2' (Linear(32 -> 1))"),
                        run::describe),
                () -> assertEquals(5, losses.size(), run::describe),
                () -> assertTrue(losses.get(4) < losses.get(0), () -> "the loss falls: " + losses),
                () -> assertTrue(Files.isRegularFile(work.resolve("trained-adapter/adapter_config.json")),
                        run::describe));
        Safetensors adapter = Safetensors.read(saved);
        assertEquals(Set.of("0.lora_A.weight", "0.lora_B.weight", "2.lora_A.weight", "2.lora_B.weight"),
                new TreeSet<>(adapter.names()), "keys of the saved adapter");
        float largest = 0;
        for (float v : adapter.get("2.lora_B.weight").floats()) {
            largest = Math.max(largest, Math.abs(v));
        }
        assertTrue(largest > 0, "lora_B starts at zero and must have been trained");
    }

    /** The one fenced block of {@code language} that contains {@code marker}. */
    private static String onlyBlock(String markdown, String language, String marker) {
        List<String> found = new ArrayList<>();
        Matcher m = BLOCK.matcher(markdown);
        while (m.find()) {
            if (m.group(1).equals(language) && m.group(2).contains(marker)) {
                found.add(m.group(2));
            }
        }
        assertEquals(1, found.size(), () -> "README.md blocks of " + language + " containing " + marker);
        return found.get(0);
    }
}

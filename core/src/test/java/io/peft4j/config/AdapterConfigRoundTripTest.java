package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** write(read(x)) reproduces every adapter_config.json PEFT 0.20 wrote, byte for byte. */
class AdapterConfigRoundTripTest {

    @TempDir
    Path tmp;

    static List<Path> goldenConfigs() {
        return GoldenFiles.adapterConfigs();
    }

    @Test
    void findsAllGoldenConfigs() {
        List<String> names = goldenConfigs().stream().map(p -> GoldenFiles.dir().relativize(p).toString())
                .collect(Collectors.toList());
        assertTrue(names.size() >= 22, names::toString);
        assertTrue(names.contains("h3_saved_pretrained_prefix/adapter_config.json"), "save_pretrained's config");
        assertTrue(names.contains("w5_weighted_svd_clamp/combined/adapter_config.json"));
        assertTrue(names.contains("g_two_adapters/default/adapter_config.json"));
        assertTrue(names.contains("g_two_adapters/other/adapter_config.json"));
    }

    @ParameterizedTest
    @MethodSource("goldenConfigs")
    void writeOfReadIsByteIdentical(Path file) throws IOException {
        byte[] original = Files.readAllBytes(file);
        try (WarningCapture capture = new WarningCapture()) {
            AdapterConfig config = AdapterConfigs.read(file);
            Path out = tmp.resolve("out");
            AdapterConfigs.write(config, out);
            assertArrayEquals(original, Files.readAllBytes(out.resolve("adapter_config.json")));
            assertEquals(List.of(), capture.warnings(), "PEFT-written configs need no warning");
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of("adapter_config.json"),
                        left.map(p -> p.getFileName().toString()).collect(Collectors.toList()),
                        "no temporary file left behind");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("goldenConfigs")
    void readsDirectoryAndKeepsEveryKey(Path file) throws IOException {
        AdapterConfig fromDir = AdapterConfigs.read(file.getParent());
        assertEquals(AdapterConfigs.read(file), fromDir);
        Set<String> fileKeys = new TreeSet<>();
        new ObjectMapper().readTree(file.toFile()).fieldNames().forEachRemaining(fileKeys::add);
        assertEquals(fileKeys, new TreeSet<>(fromDir.toJsonMap().keySet()));
        assertEquals(List.of(), fromDir.unknownKeys());
        String peftType = new ObjectMapper().readTree(file.toFile()).get("peft_type").asText();
        assertEquals(peftType, fromDir.peftType().jsonName());
    }

    @ParameterizedTest
    @MethodSource("goldenConfigs")
    void copyIsEqualAndIndependent(Path file) {
        AdapterConfig config = AdapterConfigs.read(file);
        AdapterConfig copy = config.copy();
        assertNotSame(config, copy);
        assertEquals(config, copy);
        assertEquals(AdapterConfigs.toJson(config), AdapterConfigs.toJson(copy));
        copy.toJsonMap().put("r", 1234);
        assertEquals(config, copy, "toJsonMap returns a copy");
    }

    @Test
    void writeReplacesAnExistingFileAndCreatesDirectories() throws IOException {
        AdapterConfig config = AdapterConfigs.read(GoldenFiles.dir().resolve("b1_lora_mlp"));
        Path dir = tmp.resolve("a/b");
        AdapterConfigs.write(LoraConfig.builder().targetModules(List.of("x")).build(), dir);
        AdapterConfigs.write(config, dir);
        assertEquals(GoldenFiles.text("b1_lora_mlp/adapter_config.json"),
                Files.readString(dir.resolve("adapter_config.json")));
    }

    @Test
    void writeIntoAFileFails() throws IOException {
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        AdapterConfig config = LoraConfig.builder().targetModules(List.of("x")).build();
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> AdapterConfigs.write(config, file));
        assertTrue(e.getMessage().contains("should be a directory, not a file"), e.getMessage());
    }

    @Test
    void goldenFilesHaveNoTrailingNewline() throws IOException {
        for (Path file : goldenConfigs()) {
            byte[] bytes = Files.readAllBytes(file);
            assertEquals('}', bytes[bytes.length - 1], file.toString());
        }
    }
}

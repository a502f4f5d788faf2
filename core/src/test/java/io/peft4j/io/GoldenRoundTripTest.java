package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Every golden file written by Python is read and written back byte for byte. */
class GoldenRoundTripTest {
    static List<Path> goldenFiles() {
        return GoldenFiles.allSafetensors();
    }

    @Test
    void goldenSetIsComplete() {
        List<Path> files = goldenFiles();
        assertTrue(
                files.size() >= 92,
                "expected the 92 golden safetensors files, found " + files.size());
        assertTrue(
                files.contains(
                        GoldenFiles.file("g_two_adapters/default/adapter_model.safetensors")));
        assertTrue(
                files.contains(GoldenFiles.file("g_two_adapters/other/adapter_model.safetensors")));
        assertTrue(files.contains(GoldenFiles.file("a_lora_dummy/input.safetensors")));
    }

    @ParameterizedTest
    @MethodSource("goldenFiles")
    void serializeReproducesPythonBytes(Path golden) throws IOException {
        SafetensorsFile read = SafetensorsFile.read(golden);

        byte[] written = SafetensorsWriter.serialize(read.tensors(), read.metadata());

        assertArrayEquals(Files.readAllBytes(golden), written, golden.toString());
    }

    @ParameterizedTest
    @MethodSource("goldenFiles")
    void writeReproducesPythonBytes(Path golden, @TempDir Path dir) throws IOException {
        SafetensorsFile read = SafetensorsFile.read(golden);
        Path copy = dir.resolve("copy.safetensors");

        SafetensorsWriter.write(copy, read.tensors(), read.metadata());

        assertArrayEquals(Files.readAllBytes(golden), Files.readAllBytes(copy), golden.toString());
    }

    @Test
    void adapterFilesCarryPythonMetadata() throws IOException {
        SafetensorsFile adapter =
                SafetensorsFile.read(
                        GoldenFiles.file("b3_lora_mlp_bias_all/adapter_model.safetensors"));

        assertEquals(Map.of("format", "pt"), adapter.metadata());
        assertEquals(
                List.of(
                        "fc1.base_layer.bias",
                        "fc1.lora_A.weight",
                        "fc1.lora_B.weight",
                        "fc2.base_layer.bias",
                        "fc2.lora_A.weight",
                        "fc2.lora_B.weight",
                        "head.bias"),
                adapter.names());
    }

    @Test
    void baseModelFilesHaveNoMetadata() throws IOException {
        SafetensorsFile base =
                SafetensorsFile.read(GoldenFiles.file("b1_lora_mlp/base_model.safetensors"));

        assertTrue(base.metadata().isEmpty());
    }
}

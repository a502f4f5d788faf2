package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** {@link SafetensorsWriter#write} on the file system. */
class SafetensorsWriterFileTest {
    @TempDir Path dir;

    @Test
    void replacesExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path target = dir.resolve("adapter_model.safetensors");
        Files.writeString(target, "old content");
        Map<String, TensorData> tensors = Map.of("w", TensorData.ofFloats(new long[] {2}, 1f, 2f));

        SafetensorsWriter.write(target, tensors, Map.of("format", "pt"));

        assertArrayEquals(
                SafetensorsWriter.serialize(tensors, Map.of("format", "pt")),
                Files.readAllBytes(target));
        assertEquals(List.of("adapter_model.safetensors"), listing());
    }

    @Test
    void writtenFileReadsBack() throws IOException {
        Path target = dir.resolve("t.safetensors");
        TensorData ids = TensorData.ofLongs(new long[] {2}, 4, 5);
        TensorData weight = TensorData.ofFloats(new long[] {1, 2}, 0.5f, -1f);

        SafetensorsWriter.write(target, Map.of("weight", weight, "ids", ids), null);

        SafetensorsFile read = SafetensorsFile.read(target);
        assertEquals(List.of("ids", "weight"), read.names());
        assertEquals(ids, read.get("ids"));
        assertEquals(weight, read.get("weight"));
        assertEquals(Map.of(), read.metadata());
    }

    @Test
    void failedWriteLeavesNothingBehind() throws IOException {
        Path target = dir.resolve("missing-dir").resolve("t.safetensors");

        assertThrows(
                IOException.class,
                () ->
                        SafetensorsWriter.write(
                                target,
                                Map.of("w", TensorData.ofFloats(new long[] {1}, 1f)),
                                null));

        assertFalse(Files.exists(target));
        assertEquals(List.of(), listing());
    }

    @Test
    void invalidInputLeavesExistingFileUntouched() throws IOException {
        Path target = dir.resolve("t.safetensors");
        Files.writeString(target, "keep");

        assertThrows(
                IllegalArgumentException.class,
                () ->
                        SafetensorsWriter.write(
                                target,
                                Map.of("__metadata__", TensorData.ofFloats(new long[] {1}, 1f)),
                                null));

        assertEquals("keep", Files.readString(target));
        assertEquals(List.of("t.safetensors"), listing());
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}

package io.peft4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorData;
import io.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two files of a saved adapter get the permissions any new file of the user gets (0666 minus the umask: 644 with
 * the usual 022), not the 600 of a {@code Files.createTempFile} moved into place: an adapter written by a service
 * must stay readable by the other users or groups the umask allows, as PEFT's files are.
 */
class SavedFilePermissionsTest {

    @TempDir
    Path tmp;

    private Set<PosixFilePermission> umaskDerived;

    @BeforeEach
    void referenceFile() throws IOException {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "POSIX permissions");
        umaskDerived = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("reference")));
    }

    @Test
    void adapterConfigGetsTheUmaskPermissions() throws IOException {
        Path dir = tmp.resolve("adapter");
        AdapterConfigs.write(LoraConfig.builder().r(4).targetModules(List.of("fc1")).build(), dir);
        assertPermissions(dir.resolve("adapter_config.json"));
        // Replacing an existing file keeps them too.
        AdapterConfigs.write(LoraConfig.builder().r(8).targetModules(List.of("fc1")).build(), dir);
        assertPermissions(dir.resolve("adapter_config.json"));
    }

    @Test
    void safetensorsGetTheUmaskPermissions() throws IOException {
        Path file = tmp.resolve("adapter_model.safetensors");
        SafetensorsWriter.write(file, Map.of("fc1.lora_A.weight", TensorData.ofFloats(new long[] {1, 2}, 1f, 2f)),
                null);
        assertPermissions(file);
    }

    private void assertPermissions(Path file) throws IOException {
        assertEquals(PosixFilePermissions.toString(umaskDerived),
                PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), file.toString());
    }
}

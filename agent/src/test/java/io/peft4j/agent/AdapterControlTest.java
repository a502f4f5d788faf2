package io.peft4j.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapter names that JMX {@code load} and {@code dump} accept: plain directory names only; and symbolic links inside
 * {@code adapterRoot} or {@code dumpDir} that resolve outside them are refused.
 */
class AdapterControlTest {

    @Test
    void plainNamesAreAccepted() {
        for (String name : new String[] {"default", "other", "v1.2", "my_adapter-3", "A"}) {
            AdapterControl.checkName(name);
        }
    }

    @Test
    void pathsAndDotsAreRefused() {
        for (String name : new String[] {"", "..", ".", "../x", "a/b", "a\\b", "/abs", ".hidden", "a..b", "a b",
            "x\u0000", null}) {
            assertThrows(IllegalArgumentException.class, () -> AdapterControl.checkName(name), String.valueOf(name));
        }
    }

    @Test
    void symbolicLinksLeadingOutsideTheRootsAreRefused(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("adapters"));
        Path dumps = Files.createDirectories(tmp.resolve("dumps"));
        Path outside = Files.createDirectories(tmp.resolve("elsewhere/secret"));
        Files.writeString(outside.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\"}");
        Files.createSymbolicLink(root.resolve("linked"), outside);
        Path inner = Files.createDirectories(root.resolve("inner"));
        Files.createSymbolicLink(inner.resolve("adapter_config.json"), outside.resolve("adapter_config.json"));
        Files.createSymbolicLink(dumps.resolve("out"), outside);
        AdapterControl control = new AdapterControl(new InjectionGate(), new KnownModels(), root, dumps);

        IllegalArgumentException load = assertThrows(IllegalArgumentException.class, () -> control.load("linked"));
        assertEquals(root.resolve("linked") + " resolves to " + outside.toRealPath() + ", outside adapterRoot "
                + root.toRealPath() + " (a symbolic link): refused", load.getMessage());
        IllegalArgumentException file = assertThrows(IllegalArgumentException.class, () -> control.load("inner"));
        assertEquals(inner.resolve("adapter_config.json") + " resolves to " + outside.resolve("adapter_config.json")
                .toRealPath() + ", outside adapterRoot " + root.toRealPath() + " (a symbolic link): refused",
                file.getMessage());
        IllegalArgumentException dump = assertThrows(IllegalArgumentException.class, () -> control.dump("out"));
        assertEquals(dumps.resolve("out") + " resolves to " + outside.toRealPath() + ", outside dumpDir "
                + dumps.toRealPath() + " (a symbolic link): refused", dump.getMessage());
        try (Stream<Path> files = Files.list(outside)) {
            assertEquals(List.of(outside.resolve("adapter_config.json")), files.toList(), "nothing written outside");
        }
    }
}

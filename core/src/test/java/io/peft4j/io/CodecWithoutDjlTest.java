package io.peft4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The safetensors codec works with no DJL on the class path, as {@code java -jar peft4j-agent.jar inspect} and the
 * integration tests use it: its classes are loaded again in a class loader that sees only peft4j's classes (no
 * DJL, no JSON library), and read a golden file, header only and whole.
 */
class CodecWithoutDjlTest {

    @Test
    void readsHeadersAndTensorsWithoutDjl() throws Exception {
        URL peft4j = SafetensorsFile.class.getProtectionDomain().getCodeSource().getLocation();
        Path file = GoldenFiles.allSafetensors().get(0);
        SafetensorsFile expected = SafetensorsFile.read(file);
        try (URLClassLoader loader = new URLClassLoader(new URL[] {peft4j},
                ClassLoader.getPlatformClassLoader())) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName("ai.djl.ndarray.NDArray", false, loader));
            assertThrows(ClassNotFoundException.class,
                    () -> Class.forName("com.fasterxml.jackson.core.JsonFactory", false, loader));

            Class<?> header = Class.forName(SafetensorsHeader.class.getName(), true, loader);
            Object read = header.getMethod("read", Path.class).invoke(null, file);
            List<?> entries = (List<?>) header.getMethod("tensors").invoke(read);
            assertEquals(expected.names().size(), entries.size());
            Object first = entries.get(0);
            assertEquals(expected.names().get(0), first.getClass().getMethod("name").invoke(first));
            assertArrayEquals(expected.get(expected.names().get(0)).shape(),
                    (long[]) first.getClass().getMethod("shape").invoke(first));

            Class<?> whole = Class.forName(SafetensorsFile.class.getName(), true, loader);
            Object tensors = whole.getMethod("tensors").invoke(whole.getMethod("read", Path.class).invoke(null, file));
            Object tensor = ((Map<?, ?>) tensors).get(expected.names().get(0));
            Method bytes = tensor.getClass().getMethod("toByteArray");
            assertArrayEquals(expected.get(expected.names().get(0)).toByteArray(), (byte[]) bytes.invoke(tensor));
            assertFalse(tensor.getClass() == TensorData.class, "loaded again, apart from the test's own classes");
        }
    }
}

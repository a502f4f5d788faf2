package io.peft4j.traced;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The offline merge's TorchScript file ({@code peft4j-agent.jar merge}, {@code Peft.mergeIntoTorchScript}) is written
 * to a temporary file in the target's directory and renamed over it: a write that fails half-way leaves the old file
 * byte for byte and no temporary file; one that succeeds leaves only the new file.
 */
class TorchScriptWriteAtomicTest {

    /** A block whose TorchScript stream is DJL's 9-byte prefix and {@code body}, or fails after half of it. */
    private static final class Writing extends AbstractBlock {
        private final byte[] body;
        private final boolean fail;

        Writing(byte[] body, boolean fail) {
            this.body = body;
            this.fail = fail;
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return inputs;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }

        @Override
        public void saveParameters(DataOutputStream os) throws IOException {
            os.writeByte(1);
            os.writeLong(body.length);
            os.write(body, 0, fail ? body.length / 2 : body.length);
            if (fail) {
                throw new IOException("disk full (simulated)");
            }
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("merged.pt");
        byte[] old = "the old merged model".getBytes(StandardCharsets.UTF_8);
        Files.write(target, old);
        byte[] body = new byte[100_000];
        java.util.Arrays.fill(body, (byte) 7);
        IOException e = assertThrows(IOException.class,
                () -> TorchScriptMerge.writeTorchScript(new Writing(body, true), target));
        assertEquals("disk full (simulated)", e.getMessage());
        assertArrayEquals(old, Files.readAllBytes(target), "the old file, byte for byte");
        assertEquals(List.of(target), list(dir), "no temporary file left");

        TorchScriptMerge.writeTorchScript(new Writing(body, false), target);
        assertArrayEquals(body, Files.readAllBytes(target), "the new file, without DJL's 9-byte prefix");
        assertEquals(List.of(target), list(dir), "only the target");
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}

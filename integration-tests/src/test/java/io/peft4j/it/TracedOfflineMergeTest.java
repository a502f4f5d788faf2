package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@code java -jar peft4j-agent.jar merge} as an operator runs it: golden traces merged offline (one adapter; two
 * named adapters in order; safetensors output), then loaded by the plain {@code TracedApp} WITHOUT any agent, which
 * must reproduce PEFT's merged output; a misfitting adapter fails with PEFT's size-mismatch message and writes
 * nothing; the input file is never changed.
 */
class TracedOfflineMergeTest {

    private static final double TOLERANCE = 1e-5;

    /** {@code java -Dai.djl.offline=true -jar peft4j-agent.jar merge --classpath APP ARGS}. */
    private static ForkedJvm.Result merge(Path work, String name, Object... args) {
        return new ForkedJvm("-jar").args(prepend(args)).run(work, name);
    }

    private static Object[] prepend(Object... args) {
        List<Object> all = new ArrayList<>(List.of(ItEnvironment.agentJar(), "merge", "--classpath",
                ItEnvironment.applicationClasspath()));
        all.addAll(List.of(args));
        return all.toArray();
    }

    @Test
    void mergedFilesRunWithoutTheAgent() throws Exception {
        Path work = ItEnvironment.freshWorkDir("traced-offline/merge");
        Path t1 = ItEnvironment.goldenEdgeCase("t1_gpt_conv1d_fan_in_fan_out");
        Path g = ItEnvironment.goldenCase("g_two_adapters");
        Path h8 = ItEnvironment.goldenEdgeCase("h8_dora_conv2d");
        byte[] t1Before = sha256(t1.resolve("base_model.torchscript.pt"));

        ForkedJvm.Result one = merge(work, "merge-t1", "--model", t1.resolve("base_model.torchscript.pt"),
                "--adapter", t1, "--out", work.resolve("t1.pt"));
        ForkedJvm.Result two = merge(work, "merge-g", "--model", g.resolve("base_model.torchscript.pt"),
                "--adapter", "default=" + g.resolve("default"), "--adapter", "other=" + g.resolve("other"),
                "--out", work.resolve("g.pt"));
        ForkedJvm.Result weights = merge(work, "merge-h8", "--model", h8.resolve("base_model.torchscript.pt"),
                "--adapter", h8, "--out", work.resolve("h8.safetensors"), "--format", "safetensors");
        for (ForkedJvm.Result r : List.of(one, two, weights)) {
            assertEquals(0, r.exitCode(), r::describe);
        }
        assertTrue(one.stdout().contains("merged [default] into 6 modules; wrote " + work.resolve("t1.pt")),
                one::describe);
        assertTrue(two.stdout().contains("merged [default, other] into "), two::describe);

        ForkedJvm.Result app = ItEnvironment.application("TracedApp")
                .args(work.resolve("t1.pt"), t1.resolve("input.safetensors"), work.resolve("t1.out.safetensors"),
                        work.resolve("g.pt"), g.resolve("input.safetensors"), work.resolve("g.out.safetensors"))
                .run(work, "app-without-agent");
        assertEquals(0, app.exitCode(), app::describe);
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> assertTrue(!app.output().contains("[peft4j]"), () -> "peft4j ran\n" + app.describe()));
        checks.add(() -> TensorAssertions.assertClose(
                Safetensors.read(t1.resolve("expected_output_merged.safetensors")).get("output"),
                Safetensors.read(work.resolve("t1.out.safetensors")).get("output"), TOLERANCE, "t1 merged file"));
        checks.add(() -> TensorAssertions.assertClose(
                Safetensors.read(g.resolve("expected_output_merged_both.safetensors")).get("output"),
                Safetensors.read(work.resolve("g.out.safetensors")).get("output"), TOLERANCE, "g merged file"));
        Safetensors expected = Safetensors.read(h8.resolve("merged_model.safetensors"));
        Safetensors actual = Safetensors.read(work.resolve("h8.safetensors"));
        checks.add(() -> assertEquals(expected.names(), actual.names(), "h8 parameter names"));
        for (String name : expected.names()) {
            checks.add(() -> TensorAssertions.assertClose(expected.get(name), actual.get(name), 1e-6, "h8 " + name));
        }
        checks.add(() -> assertTrue(java.util.Arrays.equals(t1Before, sha256(t1.resolve("base_model.torchscript.pt"))),
                "the input TorchScript file changed"));
        assertAll("offline merge", checks);
    }

    @Test
    void anAdapterThatDoesNotFitFailsNamingKeyAndShapes() {
        Path work = ItEnvironment.freshWorkDir("traced-offline/mismatch");
        Path h9 = ItEnvironment.goldenEdgeCase("h9_dora_embedding");
        Path c1 = ItEnvironment.goldenCase("c1_lora_embedding");
        Path out = work.resolve("never.pt");
        ForkedJvm.Result r = merge(work, "merge", "--model", h9.resolve("base_model.torchscript.pt"), "--adapter", c1,
                "--out", out);
        assertAll(() -> assertEquals(1, r.exitCode(), r::describe),
                () -> assertTrue(r.stderr().contains("size mismatch for embedding.lora_embedding_A: copying a param"
                        + " with shape [4, 10] from checkpoint, the shape in current model is [4, 20]."), r::describe),
                () -> assertTrue(!Files.exists(out), "a file was written"));
    }

    private static byte[] sha256(Path file) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

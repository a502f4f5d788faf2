package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.Test;

/**
 * The proof of LoRA training on a traced model: the same unmodified {@code TrainApp} trains golden adapter
 * {@code b1_lora_mlp} through the agent twice on the same data with Adam for 20 steps, once on the MLP built from DJL
 * blocks (base weights from {@code base_model.safetensors}) and once on its TorchScript trace
 * ({@code --torchscript base_model.torchscript.pt}, loaded with {@code Criteria}). The adapters the agent saves
 * ({@code save=DIR}, PEFT's format) agree within 1e-5, they moved away from the starting adapter, and the TorchScript
 * file is untouched.
 */
class TracedTrainingThroughAgentTest {

    private static final String[] TRAIN = {"--mode", "manual", "--optimizer", "adam", "--lr", "0.01", "--epochs", "1",
        "--samples", "320", "--batch", "16", "--seed", "42"};

    @Test
    void aTracedModelAndItsBlockTwinTrainTheSameAdapter() throws IOException {
        Path b1 = ItEnvironment.goldenCase("b1_lora_mlp");
        Path trace = b1.resolve("base_model.torchscript.pt");
        byte[] traceBefore = sha256(trace);
        Path work = ItEnvironment.freshWorkDir("traced-train/parity");
        Trained block = train(work, "block", b1, "--base", b1.resolve("base_model.safetensors"));
        Trained traced = train(work, "traced", b1, "--torchscript", trace);

        Safetensors start = Safetensors.read(b1.resolve("adapter_model.safetensors"));
        Safetensors fromBlock = block.saved();
        Safetensors fromTrace = traced.saved();
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoErrors(block.run()));
        checks.add(() -> AgentLog.assertNoErrors(traced.run()));
        checks.add(() -> assertTrue(traced.run().output().contains("training adapters [default] by W = W0 + s·B·A"),
                traced.run()::describe));
        checks.add(() -> assertEquals(start.names(), fromTrace.names(), "keys of the adapter saved from the trace"));
        checks.add(() -> assertEquals(fromBlock.names(), fromTrace.names(), "keys of both saved adapters"));
        StringBuilder report = new StringBuilder();
        for (String key : start.names()) {
            double parity = TensorAssertions.maxAbsDiff(fromBlock.get(key), fromTrace.get(key));
            double moved = TensorAssertions.maxAbsDiff(start.get(key), fromTrace.get(key));
            report.append(String.format(Locale.ROOT, "%s: block vs trace %.3g, moved %.3g%n", key, parity, moved));
            checks.add(() -> assertTrue(parity <= 1e-5, key + ": block twin vs trace " + parity));
            checks.add(() -> assertTrue(moved > 1e-3, key + " was not trained (moved " + moved + ")"));
        }
        checks.add(() -> assertTrue(java.util.Arrays.equals(traceBefore, sha256(trace)),
                "the TorchScript file changed"));
        System.out.print(report);
        assertAll("training parity\n" + report, checks);
    }

    /**
     * A garbage collection between each forward and its backward changes nothing: the traced model trained through
     * the agent with DJL's own {@code L2Loss} (whose {@code mul(Number)} lends libtorch a Java buffer, as the
     * {@code W0 + s·B·A} delta's scaling once did) saves the same adapter bit for bit whether or not a completed
     * collection, its freed memory then overwritten, ran before every backward (20 steps). Before the fix such runs
     * froze the adapter with gradients of 1e16 or more in some runs, without an error.
     */
    @Test
    void aCollectionBeforeEveryBackwardChangesNothing() throws IOException {
        Path b1 = ItEnvironment.goldenCase("b1_lora_mlp");
        Path trace = b1.resolve("base_model.torchscript.pt");
        Path work = ItEnvironment.freshWorkDir("traced-train/gc");
        Trained quiet = train(work, "quiet", b1, "--torchscript", trace, "--djl-l2loss");
        Trained collected = train(work, "collected", b1, "--torchscript", trace, "--djl-l2loss",
                "--gc-before-backward");
        Safetensors start = Safetensors.read(b1.resolve("adapter_model.safetensors"));
        Safetensors a = quiet.saved();
        Safetensors b = collected.saved();
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoErrors(collected.run()));
        checks.add(() -> assertEquals(a.names(), b.names()));
        for (String key : start.names()) {
            checks.add(() -> TensorAssertions.assertBitIdentical(a.get(key), b.get(key), key
                    + " trained with a collection before every backward"));
            checks.add(() -> assertTrue(TensorAssertions.maxAbsDiff(start.get(key), b.get(key)) > 1e-3,
                    key + " was not trained"));
        }
        assertAll("a collection before every backward", checks);
    }

    /** A training run that exited with 0, and the adapter the agent saved. */
    private record Trained(ForkedJvm.Result run, Safetensors saved) {}

    private static Trained train(Path work, String name, Path adapter, Object... model) throws IOException {
        Path dir = work.resolve(name);
        List<Object> args = new ArrayList<>(List.of((Object[]) TRAIN));
        args.add("--out");
        args.add(dir.resolve("out"));
        args.addAll(List.of(model));
        ForkedJvm.Result run = ItEnvironment.application("TrainApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + adapter + ",save=" + dir.resolve("saved")
                        + ",jmx=false")
                // one intra-op thread: the two runs of a comparison must order their float sums alike
                .systemProperty("ai.djl.pytorch.num_threads", "1")
                .args(args.toArray())
                .run(work, name);
        assertEquals(0, run.exitCode(), run::describe);
        return new Trained(run, Safetensors.read(dir.resolve("saved/adapter_model.safetensors")));
    }

    private static byte[] sha256(Path file) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.peft4j.tuner;

import ai.djl.modality.nlp.embedding.TrainableWordEmbedding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfig;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.ia3.IA3Config;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-thread adapter scopes ({@link Peft#useAdapters}) and mixed batches ({@link Peft#useAdapterPerRow}, PEFT's
 * {@code adapter_names}): row for row equal to each row run alone with its adapter, PEFT's refusals, no leak between
 * threads.
 */
class MixedBatchTest extends DjlTestCase {

    private float[] forward(Block model, NDArray x) {
        return GoldenCase.forward(model, x, manager);
    }

    private static float[] row(float[] all, int rows, int row) {
        int width = all.length / rows;
        return Arrays.copyOfRange(all, row * width, (row + 1) * width);
    }

    @Test
    void goldenTwoAdaptersRowByRow() throws Exception {
        GoldenCase c = GoldenCase.named("g_two_adapters");
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        Peft.loadAdapter(model, c.file("default"), "default");
        ModelAdapters adapters = Peft.loadAdapter(model, c.file("other"), "other");
        float[] other = c.expected("expected_output_other.safetensors");
        float[] expectedDefault = c.expected("expected_output_default.safetensors");
        float[] disabled = c.expected("expected_output_disabled.safetensors");
        List<float[]> byName = List.of(expectedDefault, other, disabled);
        int rows = (int) input.getShape().get(0);
        assertEquals(3, rows);

        for (List<String> routing : List.of(List.of("default", "other", "__base__"),
                List.of("__base__", "default", "other"), List.of("other", "__base__", "default"))) {
            float[] mixed;
            try (AdapterSelection s = Peft.useAdapterPerRow(routing)) {
                mixed = forward(model, input);
            }
            for (int i = 0; i < rows; i++) {
                int which = List.of("default", "other", "__base__").indexOf(routing.get(i));
                GoldenCase.assertClose(row(byName.get(which), rows, i), row(mixed, rows, i), 1e-5,
                        "row " + i + " of " + routing + " vs PEFT");
            }
        }
        // Row by row within 1e-6 of the same rows run alone with their adapter.
        List<String> routing = List.of("other", "default", "__base__");
        float[] mixed;
        try (AdapterSelection s = Peft.useAdapterPerRow(routing)) {
            mixed = forward(model, input);
        }
        for (int i = 0; i < rows; i++) {
            float[] alone;
            try (AdapterSelection s = Peft.useAdapters(routing.get(i))) {
                alone = forward(model, input.get(i + ":" + (i + 1)));
            }
            GoldenCase.assertClose(alone, row(mixed, rows, i), 1e-6, "row " + i + " alone");
        }

        assertEquals(List.of("other"), adapters.activeAdapters());
        try (AdapterSelection s = Peft.useAdapters("default")) {
            GoldenCase.assertClose(expectedDefault, forward(model, input), 1e-5, "thread scope 'default'");
            try (AdapterSelection inner = Peft.useAdapters("none")) {
                GoldenCase.assertClose(disabled, forward(model, input), 1e-5, "nested scope: base model");
            }
            GoldenCase.assertClose(expectedDefault, forward(model, input), 1e-5, "outer scope restored");
        }
        GoldenCase.assertClose(other, forward(model, input), 1e-5, "outside any scope: the model's active set");
        try (AdapterSelection s = Peft.useAdapters("default", "other")) {
            GoldenCase.assertClose(c.expected("expected_output_both.safetensors"), forward(model, input), 1e-5,
                    "both in one scope add up as set_adapter([default, other])");
        }
    }

    @Test
    void refusesWhatPeftRefuses() throws Exception {
        GoldenCase c = GoldenCase.named("g_two_adapters");
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        Peft.loadAdapter(model, c.file("default"), "default");
        ModelAdapters adapters = Peft.loadAdapter(model, c.file("other"), "other");

        try (AdapterSelection s = Peft.useAdapterPerRow(List.of("default", "typo", "tenantB"))) {
            AdapterSelectionException e = assertThrows(AdapterSelectionException.class, () -> forward(model, input));
            assertTrue(e.getMessage().startsWith("Trying to infer with non-existing adapter(s): tenantB, typo"),
                    e.getMessage());
        }
        try (AdapterSelection s = Peft.useAdapterPerRow(List.of("default", "other"))) {
            AdapterSelectionException e = assertThrows(AdapterSelectionException.class, () -> forward(model, input));
            assertTrue(e.getMessage().startsWith("Length of `adapter_names` should be the same as the number of "
                    + "inputs, but got 2 and 3 respectively."), e.getMessage());
        }
        try (AdapterSelection s = Peft.useAdapterPerRow(List.of("default", "other", "other"))) {
            AdapterSelectionException e = assertThrows(AdapterSelectionException.class, () -> model.forward(
                    new ParameterStore(manager, false), new NDList(input), true));
            assertEquals("Cannot pass `adapter_names` when the model is in training mode.", e.getMessage());
        }
        adapters.merge(List.of("other"), true);
        try (AdapterSelection s = Peft.useAdapterPerRow(List.of("default", "other", "other"))) {
            AdapterSelectionException e = assertThrows(AdapterSelectionException.class, () -> forward(model, input));
            assertTrue(e.getMessage().startsWith("Cannot pass `adapter_names` when there are merged adapters, please "
                    + "call `unmerge_adapter` first."), e.getMessage());
        }
        adapters.unmerge();
        // A refused pass released the hot-swap lock: a change still goes through, and the next pass runs.
        adapters.setActiveAdapters(List.of("default"));
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"), forward(model, input), 1e-5,
                "after the refusals");
    }

    private static LoraConfig lora(String target, boolean dora) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of(target.split("\\|"))).useDora(dora)
                .initLoraWeights(InitLoraWeights.FALSE).build();
    }

    /** Rows cycle through {@code names} and the base; each must equal the same row run with its adapter alone. */
    private void mixedEqualsAlone(Block model, NDArray x, List<String> names, String what) {
        int rows = (int) x.getShape().get(0);
        List<String> routing = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            routing.add(i % (names.size() + 1) == names.size() ? "__base__" : names.get(i % (names.size() + 1)));
        }
        float[] mixed;
        try (AdapterSelection s = Peft.useAdapterPerRow(routing)) {
            mixed = forward(model, x);
        }
        float[] base;
        try (AdapterSelection s = Peft.useAdapters()) {
            base = forward(model, x);
        }
        for (int i = 0; i < rows; i++) {
            float[] alone;
            try (AdapterSelection s = Peft.useAdapters(routing.get(i))) {
                alone = forward(model, x.get(i + ":" + (i + 1)));
            }
            // 1e-6 relative to the row's largest value: where the base layer itself runs per group (feed-forward IA3
            // scales its input), its GEMM sees fewer rows than the full batch and MKL may block and sum it differently
            // (seen once: 3.8e-6 with random inputs and IA3 vectors).
            double scale = 1;
            for (float v : alone) {
                scale = Math.max(scale, Math.abs(v));
            }
            GoldenCase.assertClose(alone, row(mixed, rows, i), 1e-6 * scale,
                    what + " row " + i + " (" + routing.get(i) + ")");
            if (!routing.get(i).equals("__base__")) {
                float[] b = row(base, rows, i);
                double diff = 0;
                for (int k = 0; k < b.length; k++) {
                    diff = Math.max(diff, Math.abs(b[k] - alone[k]));
                }
                assertTrue(diff > 1e-5, what + ": adapter " + routing.get(i) + " changes its row");
            }
        }
    }

    private static void injectThree(Block model, AdapterConfig config) {
        for (String name : List.of("a", "b", "c")) {
            Peft.injectAdapter(config, model, name);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void linearLoraAndDora(boolean dora) {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(8).build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(5).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(7, 6));
        injectThree(model, lora("0|2", dora));
        mixedEqualsAlone(model, manager.randomNormal(new Shape(7, 6)), List.of("a", "b", "c"), dora ? "DoRA" : "LoRA");
    }

    @Test
    void loraOnSequencesOfTokens() {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(8).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(5, 3, 6));
        injectThree(model, lora("0", false));
        mixedEqualsAlone(model, manager.randomNormal(new Shape(5, 3, 6)), List.of("a", "b", "c"), "LoRA [b, t, h]");
    }

    @Test
    void embedding() {
        NDArray table = manager.randomNormal(new Shape(6, 4));
        SequentialBlock model = new SequentialBlock()
                .add(TrainableWordEmbedding.fromPretrained(table, List.of("a", "b", "c", "d", "e", "f")));
        model.initialize(manager, DataType.FLOAT32, new Shape(5, 3));
        injectThree(model, lora("0", false));
        NDArray ids = manager.create(new long[] {0, 3, 5, 1, 1, 2, 4, 4, 0, 5, 2, 3, 1, 0, 2}, new Shape(5, 3));
        mixedEqualsAlone(model, ids, List.of("a", "b", "c"), "embedding");
    }

    @Test
    void conv2d() {
        SequentialBlock model = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(6).optPadding(new Shape(1, 1)).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(5, 3, 5, 5));
        injectThree(model, lora("0", false));
        mixedEqualsAlone(model, manager.randomNormal(new Shape(5, 3, 5, 5)), List.of("a", "b", "c"), "conv2d");
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void ia3(boolean feedforward) {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(8).build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(5).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(7, 6));
        injectThree(model, IA3Config.builder().targetModules(List.of("0", "2"))
                .feedforwardModules(feedforward ? List.of("2") : List.of()).initIa3Weights(false).build());
        mixedEqualsAlone(model, manager.randomNormal(new Shape(7, 6)), List.of("a", "b", "c"), "IA3 ff=" + feedforward);
    }

    @Test
    void threadScopesNeverLeak() throws Exception {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(16).build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(4).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(4, 8));
        List<String> names = List.of("t0", "t1", "t2", "t3");
        for (String name : names) {
            Peft.injectAdapter(lora("0|2", false), model, name);
        }
        NDArray x = manager.randomNormal(new Shape(4, 8));
        List<float[]> expected = new ArrayList<>();
        for (String name : names) {
            try (AdapterSelection s = Peft.useAdapters(name)) {
                expected.add(forward(model, x));
            }
        }
        for (int i = 1; i < names.size(); i++) {
            assertTrue(!Arrays.equals(expected.get(0), expected.get(i)), "adapters give different outputs");
        }
        float[] active = forward(model, x);
        assertArrayEquals(expected.get(3), active, "the model's active adapter is the last injected");

        int threads = 8;
        int rounds = 40;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                Callable<Integer> task = () -> {
                    start.await();
                    int checked = 0;
                    for (int r = 0; r < rounds; r++) {
                        int which = (thread + r) % names.size();
                        if ((thread + r) % 5 == 0) {
                            // Outside any scope: the model's active set, whatever other threads select.
                            assertArrayEquals(active, forwardOwn(model, x), "thread " + thread + " unscoped");
                        } else {
                            try (AdapterSelection s = Peft.useAdapters(names.get(which))) {
                                assertArrayEquals(expected.get(which), forwardOwn(model, x),
                                        "thread " + thread + " round " + r + " adapter " + names.get(which));
                            }
                        }
                        checked++;
                    }
                    return checked;
                };
                results.add(pool.submit(task));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertEquals(threads * rounds, total);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(null, AdapterSelection.current(), "no selection left on the test thread");
    }

    /** A forward pass with its own manager (DJL managers are not for concurrent use). */
    private static float[] forwardOwn(Block model, NDArray x) {
        try (ai.djl.ndarray.NDManager own = ai.djl.ndarray.NDManager.newBaseManager()) {
            NDArray in = own.create(x.toFloatArray(), x.getShape());
            return model.forward(new ParameterStore(own, false), new NDList(in), false).head().toFloatArray();
        }
    }
}

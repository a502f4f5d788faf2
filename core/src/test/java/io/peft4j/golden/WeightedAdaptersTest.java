package io.peft4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.peft4j.Peft;
import io.peft4j.lora.Combination;
import io.peft4j.lora.CombineOptions;
import io.peft4j.lora.WeightedAdapters;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * add_weighted_adapter on the g_two_adapters model ("default": r=4, alpha 8 on fc1, fc2; "other": r=2, alpha 2 on
 * fc2, head), checked against PEFT's outputs through the identities each combination satisfies.
 */
class WeightedAdaptersTest {

    private NDManager manager;
    private GoldenCase c;
    private Block model;
    private NDArray input;
    private ModelAdapters adapters;

    @BeforeEach
    void setUp() throws Exception {
        manager = NDManager.newBaseManager();
        c = GoldenCase.named("g_two_adapters");
        model = c.buildBaseModel(manager);
        input = c.input(manager);
        Peft.loadAdapter(model, c.file("default"), "default");
        Peft.loadAdapter(model, c.file("default"), "default2");
        adapters = Peft.loadAdapter(model, c.file("other"), "other");
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private float[] run(String... active) {
        adapters.setActiveAdapters(List.of(active));
        return GoldenCase.forward(model, input, manager);
    }

    @Test
    void catOfBothEqualsBothActive() throws Exception {
        Peft.addWeightedAdapter(model, List.of("default", "other"), List.of(1.0, 1.0), "cat", Combination.CAT);
        assertEquals(List.of("other"), adapters.activeAdapters(), "the new adapter is not activated");
        assertEquals(6, adapters.tunedModules().get("fc2").adapter("cat").rank(), "cat rank = 4 + 2");
        GoldenCase.assertClose(c.expected("expected_output_both.safetensors"), run("cat"), 1e-5, "cat");
    }

    @Test
    void linearHasPeftsCrossTerms() throws Exception {
        WeightedAdapters.add(adapters, List.of("default"), List.of(1.0), "one", Combination.SVD, null, null);
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"), run("one"), 1e-5,
                "a single adapter is combined linearly whatever the type asked");
        // sqrt(w s) on both factors of both copies: (2 sqrt(0.25 s))^2 B A = s B A, the original delta.
        Peft.addWeightedAdapter(model, List.of("default", "default2"), List.of(0.25, 0.25), "lin",
                Combination.LINEAR);
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"), run("lin"), 1e-5, "linear");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.addWeightedAdapter(
                model, List.of("default", "other"), List.of(1.0, 1.0), "bad", Combination.LINEAR));
        assertTrue(e.getMessage().startsWith("All adapters must have the same r value"), e.getMessage());
    }

    @Test
    void svdWeighsDeltasByWeightTimesScaling() throws Exception {
        // PEFT weighs each delta (s B A, s = 2) by w * s: two copies with w = 0.25 give 2 * 0.25 * 2 * (2 B A) = s B A
        WeightedAdapters.add(adapters, List.of("default", "default2"), List.of(0.25, 0.25), "svd", Combination.SVD,
                4, null);
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"), run("svd"), 1e-5, "svd rank 4");
        WeightedAdapters.add(adapters, List.of("default", "default2"), List.of(0.25, 0.25), "svd2", Combination.SVD,
                2, null);
        float[] truncated = run("svd2");
        float[] exact = run("svd");
        double diff = 0;
        for (int i = 0; i < exact.length; i++) {
            diff = Math.max(diff, Math.abs(exact[i] - truncated[i]));
        }
        assertTrue(diff > 1e-4, "rank 2 truncates the rank-4 deltas");
    }

    @Test
    void svdRankAboveTheSmallerSideIsRefusedAndNothingIsAdded() {
        // head is Linear(32 -> 4): its delta has at most 4 singular values (PEFT 0.20 builds a broken adapter here)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightedAdapters.add(
                adapters, List.of("default", "other"), List.of(1.0, 1.0), "svd", Combination.SVD, 6, null));
        assertEquals("svd_rank 6 is larger than min(out, in) = 4 of module 'head' (its delta is 4 x 32): a rank-6 "
                + "factorisation does not exist. PEFT 0.20 fails here too (it writes an adapter of the wrong shape)",
                e.getMessage());
        assertEquals(List.of("default", "default2", "other"), adapters.adapterNames(), "the new adapter is removed");
        assertEquals(List.of("other"), adapters.activeAdapters());
    }

    @Test
    void anExistingNameIsLeftUnchangedAsInPeft() throws Exception {
        float[] before = run("other");
        assertFalse(Peft.addWeightedAdapter(model, List.of("default", "default2"), List.of(1.0, 1.0), "other",
                Combination.LINEAR));
        GoldenCase.assertClose(before, run("other"), 0, "adapter 'other' is unchanged");
    }

    @Test
    void optionsAreCheckedBeforeAnythingIsAdded() {
        IllegalArgumentException density = assertThrows(IllegalArgumentException.class, () -> Peft.addWeightedAdapter(
                model, List.of("default", "default2"), List.of(1.0, 1.0), "t", Combination.TIES,
                CombineOptions.DEFAULTS));
        assertEquals("combination_type ties needs density (the fraction of entries to keep, 0 to 1)",
                density.getMessage());
        IllegalArgumentException clamp = assertThrows(IllegalArgumentException.class, () -> Peft.addWeightedAdapter(
                model, List.of("default", "default2"), List.of(1.0, 1.0), "t", Combination.SVD,
                CombineOptions.DEFAULTS.withSvdClamp(1.5)));
        assertEquals("svd_clamp is a quantile: quantile() q must be in the range [0, 1] but got 1.5",
                clamp.getMessage());
        assertEquals(List.of("default", "default2", "other"), adapters.adapterNames());
    }
}

package io.peft4j.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The merge and activation life cycle as PEFT 0.20 runs it on its tuner layers. Expected outputs are the model's own
 * outputs in a known state (base, one adapter active), which is what PEFT's rules reduce each case to.
 */
class LifecycleTest extends DjlTestCase {

    private Mlp mlp;
    private NDArray x;

    private void model() {
        mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        x = manager.randomNormal(mlp.sampleInputShape());
    }

    private float[] out() {
        return GoldenCase.forward(mlp, x, manager);
    }

    private static LoraConfig lora(List<String> targets, InitLoraWeights init) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets).initLoraWeights(init).build();
    }

    /** tuners_utils.set_adapter (run at the end of inject_adapter): a merged layer is unmerged before switching. */
    @Test
    void injectingAfterAMergeUnmergesFirst() {
        model();
        float[] base = out();
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "a");
        adapters.merge(List.of("a"), true);
        Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.TRUE), mlp, "b"); // B = 0: adds nothing
        assertEquals(List.of("b"), adapters.activeAdapters());
        assertTrue(adapters.tunedModules().get("fc1").merged().isEmpty(), "fc1 unmerged");
        // old code: 'a' stayed merged and 'b' was the active one: base + delta_a
        GoldenCase.assertClose(base, out(), 1e-5, "b (zero) active after a was unmerged: the base output");
    }

    /** lora.Linear.forward: once merged, a layer runs base_layer(x) only, whatever else is active. */
    @Test
    void mergingOneOfTwoActiveAdaptersRunsTheMergedWeightsOnly() {
        model();
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "x");
        float[] onlyX = out();
        Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "y");
        adapters.setActiveAdapters(List.of("x", "y"));
        float[] both = out();
        adapters.merge(List.of("x"), true);
        // old code: base + dx + dy (the unmerged active 'y' still added its delta)
        GoldenCase.assertClose(onlyX, out(), 1e-5, "merge([x]) with x, y active: base + delta_x");
        adapters.unmerge();
        GoldenCase.assertClose(both, out(), 1e-5, "unmerged: x and y again");
    }

    /** BaseTunerLayer.delete_adapter: no unmerge; the first remaining adapter (by name) becomes active per layer. */
    @Test
    void deletingTheOnlyActiveAdapterActivatesTheFirstRemainingOnePerLayer() {
        model();
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "b");
        float[] onlyB = out();
        Peft.injectAdapter(lora(List.of("fc2", "head"), InitLoraWeights.FALSE), mlp, "a");
        assertEquals(List.of("a"), adapters.activeAdapters());
        adapters.deleteAdapter("a");
        // old code: no adapter active any more (the base output)
        assertEquals(List.of("b"), adapters.activeAdapters(), "the first module's (fc1) new active adapter");
        assertEquals(List.of("b"), adapters.tunedModules().get("fc2").active());
        GoldenCase.assertClose(onlyB, out(), 1e-5, "b took over on every layer");
        assertTrue(adapters.tunedModules().get("fc1").adapter("b").parameters().values().iterator().next()
                .requiresGradient(), "b trainable");
    }

    /** BaseTunerLayer.delete_adapter keeps merged_adapters: the delta stays in the base weights. */
    @Test
    void deletingAMergedAdapterLeavesItsDeltaInTheWeights() {
        model();
        float[] base = out();
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "a");
        float[] withA = out();
        Peft.injectAdapter(lora(List.of("fc1"), InitLoraWeights.FALSE), mlp, "b");
        adapters.setActiveAdapters(List.of("a"));
        adapters.merge(List.of("a"), true);
        adapters.deleteAdapter("a");
        assertEquals(List.of("b"), adapters.activeAdapters());
        // fc1 is still merged (base layer only, b skipped); fc2 lost its only adapter but keeps a's delta
        GoldenCase.assertClose(withA, out(), 1e-5, "a's delta stays merged");
        adapters.unmerge();
        float[] unmerged = out();
        double maxFromBase = 0;
        for (int i = 0; i < base.length; i++) {
            maxFromBase = Math.max(maxFromBase, Math.abs(base[i] - unmerged[i]));
        }
        assertTrue(maxFromBase > 1e-3, "unmerge cannot take a deleted adapter's delta out again");
    }

    /** BaseTuner.merge_and_unload: merged weights, no adapter left; the model is plain DJL again. */
    @Test
    void mergeAndUnloadLeavesAPlainModelWithTheMergedWeights() {
        model();
        Map<String, Parameter> before = parameters(mlp);
        Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "a");
        float[] withA = out();
        Block plain = Peft.mergeAndUnload(mlp);
        assertTrue(plain == mlp);
        assertFalse(Peft.adapters(mlp).isPresent(), "no adapters registered");
        assertEquals(before.keySet(), parameters(mlp).keySet(), "only the base parameters");
        GoldenCase.assertClose(withA, out(), 1e-5, "merged output");
        assertThrows(IllegalStateException.class, () -> Peft.getStateDict(mlp, "a"));
    }

    /** BaseTuner.unload: adapters dropped without merging. */
    @Test
    void unloadDropsTheAdapters() {
        model();
        float[] base = out();
        Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "a");
        Peft.unload(mlp);
        GoldenCase.assertIdentical(base, out(), "the base output");
        assertFalse(Peft.adapters(mlp).isPresent());
    }

    /** A failed load leaves the model as it was, active adapters included. */
    @Test
    void aFailedLoadRestoresTheActiveAdapters(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        model();
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE), mlp, "b");
        Peft.injectAdapter(lora(List.of("fc1"), InitLoraWeights.FALSE), mlp, "c");
        adapters.setActiveAdapters(List.of("c"));
        float[] withC = out();
        Peft.saveAdapter(mlp, tmp, "b");
        // load b's files under another rank: the weights do not fit and the load is undone
        io.peft4j.config.AdapterConfigs.write(lora(List.of("fc1", "fc2"), InitLoraWeights.FALSE)
                .withRankPattern(Map.of("fc1", 3)), tmp);
        assertThrows(IllegalArgumentException.class, () -> Peft.loadAdapter(mlp, tmp, "a"));
        assertEquals(List.of("b", "c"), adapters.adapterNames());
        assertEquals(List.of("c"), adapters.activeAdapters(), "not 'b', the first remaining one by name");
        GoldenCase.assertClose(withC, out(), 1e-6, "c's output");
    }

    private static Map<String, Parameter> parameters(Block block) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            out.put(p.getKey(), p.getValue());
        }
        return out;
    }
}

package io.peft4j.golden;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT 0.20's {@code hotswap_adapter} and {@code prepare_model_for_compiled_hotswap} on the w1..w5 golden MLP (one
 * base model, one input for all those cases): adapter a loaded as "default", then other adapters swapped in; the
 * outputs are the golden outputs of the adapters swapped in.
 */
class HotswapTest {

    private NDManager manager;
    private GoldenCase w1;
    private Block model;
    private ModelAdapters adapters;

    @BeforeEach
    void setUp() throws Exception {
        manager = NDManager.newBaseManager();
        w1 = GoldenCase.named("w1_weighted_ties");
        model = w1.buildBaseModel(manager);
        adapters = Peft.loadAdapter(model, w1.file("a"), "default");
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private float[] run() throws IOException {
        return GoldenCase.forward(model, w1.input(manager), manager);
    }

    @Test
    void sameRankSwapsValuesIntoTheSameParameters() throws Exception {
        GoldenCase.assertClose(w1.expected("expected_output_a.safetensors"), run(), 1e-6, "a");
        Parameter before = adapters.tunedModules().get("fc1").adapter("default").parameters().values().iterator()
                .next();
        Peft.hotswapAdapter(model, w1.file("b"), "default");
        GoldenCase.assertClose(w1.expected("expected_output_b.safetensors"), run(), 1e-6, "b swapped in");
        assertSame(before, adapters.tunedModules().get("fc1").adapter("default").parameters().values().iterator()
                .next(), "no re-injection: the same parameter objects");
        assertEquals(List.of("default"), adapters.adapterNames());
    }

    @Test
    void paddedRanksTakeSmallerAdaptersAndLargerRanksGrow() throws Exception {
        assertEquals(2, Peft.prepareForHotswap(model, 8));
        assertEquals(8, adapters.tunedModules().get("fc2").adapter("default").rank());
        GoldenCase.assertClose(w1.expected("expected_output_a.safetensors"), run(), 1e-6, "padding keeps outputs");
        Peft.hotswapAdapter(model, w1.file("b"), "default");
        assertEquals(8, adapters.tunedModules().get("fc2").adapter("default").rank(), "rank 4 into the padded 8");
        GoldenCase.assertClose(w1.expected("expected_output_b.safetensors"), run(), 1e-6, "b into rank 8");
        // w5's combined adapter: r = lora_alpha = 6, scaling 1: the scaling follows the new config
        GoldenCase w5 = GoldenCase.named("w5_weighted_svd_clamp");
        Peft.hotswapAdapter(model, w5.file("combined"), "default");
        assertEquals(1.0, adapters.tunedModules().get("fc1").adapter("default").scaling());
        GoldenCase.assertClose(w5.expected("expected_output.safetensors"), run(), 1e-5, "w5's combined adapter");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Peft.prepareForHotswap(model, 4));
        assertEquals("Trying to pad the adapter to the target rank 4, but the original rank is larger (8). This is "
                + "not possible.", e.getMessage());
    }

    @Test
    void aRankLargerThanTheLoadedOneReplacesTheParameters() throws Exception {
        GoldenCase w5 = GoldenCase.named("w5_weighted_svd_clamp");
        Peft.hotswapAdapter(model, w5.file("combined"), "default");
        assertEquals(6, adapters.tunedModules().get("fc1").adapter("default").rank());
        GoldenCase.assertClose(w5.expected("expected_output.safetensors"), run(), 1e-5, "rank 4 -> 6");
    }

    @Test
    void incompatibleAdaptersAreRefusedWithPeftsMessagesAndNothingChanges(@TempDir Path tmp) throws Exception {
        Path rslora = copyWith(w1.file("b"), tmp.resolve("rslora"), "use_rslora", true);
        IllegalArgumentException config = assertThrows(IllegalArgumentException.class,
                () -> Peft.hotswapAdapter(model, rslora, "default"));
        assertEquals(rslora + ": Configs are incompatible: for use_rslora, False != True", config.getMessage());
        Path other = GoldenCase.named("g_two_adapters").file("other");
        IllegalArgumentException keys = assertThrows(IllegalArgumentException.class,
                () -> Peft.hotswapAdapter(model, other, "default"));
        assertTrue(keys.getMessage().endsWith("Hot swapping the adapter did not succeed, unexpected keys found: "
                + "head.lora_A.weight, head.lora_B.weight."), keys.getMessage());
        GoldenCase.assertClose(w1.expected("expected_output_a.safetensors"), run(), 1e-6, "unchanged");
    }

    private static Path copyWith(Path from, Path to, String key, boolean value) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("adapter_model.safetensors"), to.resolve("adapter_model.safetensors"));
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode json = (ObjectNode) mapper.readTree(from.resolve("adapter_config.json").toFile());
        json.put(key, value);
        Files.writeString(to.resolve("adapter_config.json"), mapper.writeValueAsString(json));
        return to;
    }
}

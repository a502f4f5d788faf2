package io.peft4j.golden;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.peft4j.Peft;
import io.peft4j.ia3.IA3Config;
import io.peft4j.ia3.Ia3Adapter;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT 0.20's {@code IA3Model.add_weighted_adapter} on the d_ia3_mlp golden case: the new vectors are
 * {@code sum_i w_i l_i} (one adapter with weight 1 gives PEFT's expected output back; 2 and -1 on the adapter and
 * an all-ones adapter give {@code 2 l - 1}), with the first adapter's config.
 */
class Ia3WeightedAdaptersTest {

    private static float[] vector(TunedModule module, String adapter) {
        return ((Ia3Adapter) module.adapter(adapter)).vector().getArray().toFloatArray();
    }

    @Test
    void vectorsAreTheWeightedSum() throws Exception {
        GoldenCase c = GoldenCase.named("d_ia3_mlp");
        try (NDManager manager = NDManager.newBaseManager()) {
            Block model = c.buildBaseModel(manager);
            ModelAdapters adapters = Peft.loadAdapter(model, c.dir(), "x");
            assertTrue(Peft.addWeightedAdapter(model, List.of("x"), List.of(1.0), "solo"));
            assertEquals(List.of("x"), adapters.activeAdapters(), "not activated");
            adapters.setActiveAdapters(List.of("solo"));
            GoldenCase.assertClose(c.expected("expected_output.safetensors"), GoldenCase.forward(model,
                    c.input(manager), manager), 1e-5, "1 * l = l");
            assertEquals(adapters.config("x").targetModules(), adapters.config("solo").targetModules());

            Peft.injectAdapter(IA3Config.builder().targetModules(List.of("fc2", "fc1"))
                    .feedforwardModules(List.of("fc2")).initIa3Weights(true).build(), model, "ones");
            assertTrue(Peft.addWeightedAdapter(model, List.of("x", "ones"), List.of(2.0, -1.0), "z"));
            for (TunedModule module : adapters.tunedModules().values()) {
                float[] l = vector(module, "x");
                float[] z = vector(module, "z");
                for (int i = 0; i < l.length; i++) {
                    assertEquals(2 * l[i] - 1, z[i], 1e-6f, module.path());
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Peft.addWeightedAdapter(model, List.of("x", "nosuch"), List.of(1.0, 1.0), "bad"));
            assertEquals("Adapter nosuch does not exist", e.getMessage());
        }
    }
}

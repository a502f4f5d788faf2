package io.peft4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Golden case g_two_adapters: two named LoRA adapters on one model, switched, combined, disabled, merged. */
class GoldenTwoAdaptersTest extends DjlTestCase {


    @Test
    void reproducesPeft(@TempDir Path tmp) throws Exception {
        GoldenCase c = GoldenCase.named("g_two_adapters");
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        float[] base = GoldenCase.forward(model, input, manager);

        Peft.loadAdapter(model, c.file("default"), "default");
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "default");
        ModelAdapters adapters = Peft.loadAdapter(model, c.file("other"), "other");
        assertEquals(List.of("other"), adapters.activeAdapters(), "the newest adapter is the active one");
        GoldenCase.assertClose(c.expected("expected_output_as_injected.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "as injected");
        assertEquals(List.of("other"), adapters.tunedModules().get("fc1").active(),
                "fc1 only has 'default', but 'other' is its active adapter as in PEFT");

        adapters.setActiveAdapters(List.of("default"));
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "default again");
        assertTrainable(adapters, "default");

        adapters.setActiveAdapters(List.of("default", "other"));
        float[] both = GoldenCase.forward(model, input, manager);
        GoldenCase.assertClose(c.expected("expected_output_both.safetensors"), both, 1e-5, "both");

        adapters.setAdaptersEnabled(false);
        GoldenCase.assertIdentical(base, GoldenCase.forward(model, input, manager), "disabled is the base");
        GoldenCase.assertClose(c.expected("expected_output_disabled.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "disabled");
        adapters.setAdaptersEnabled(true);

        Map<String, float[]> before = weights(model);
        adapters.merge(List.of("default", "other"), true);
        GoldenCase.assertClose(c.expected("expected_output_merged_both.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "merged both");
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertClose(base, GoldenCase.forward(model, input, manager), 1e-6,
                "disabling a merged model unmerges first, as PEFT does");
        adapters.setAdaptersEnabled(true);
        adapters.merge(List.of("default", "other"), true);
        adapters.unmerge();
        weights(model).forEach((k, v) -> GoldenCase.assertClose(before.get(k), v, 1e-6, "unmerged " + k));
        GoldenCase.assertClose(both, GoldenCase.forward(model, input, manager), 1e-6, "unmerged forward");

        for (String name : List.of("default", "other")) {
            Path dir = tmp.resolve(name);
            Peft.saveAdapter(model, dir, name);
            assertArrayEquals(Files.readAllBytes(c.file(name + "/adapter_model.safetensors")),
                    Files.readAllBytes(dir.resolve("adapter_model.safetensors")), name + " saved bytes");
        }

        adapters.deleteAdapter("other");
        assertEquals(List.of("default"), adapters.activeAdapters());
        assertFalse(adapters.tunedModules().containsKey("head"), "head only had 'other'");
        GoldenCase.assertClose(c.expected("expected_output_default.safetensors"),
                GoldenCase.forward(model, input, manager), 1e-5, "after deleting other");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> adapters.setActiveAdapters(List.of("other")));
        assertTrue(e.getMessage().contains("'other'"), e.getMessage());
    }

    private static void assertTrainable(ModelAdapters adapters, String active) {
        List<String> wrong = new ArrayList<>();
        PeftStateDicts.namedParameters(adapters).forEach((name, p) -> {
            boolean expected = name.contains("lora_") && name.contains("." + active + ".");
            if (p.requiresGradient() != expected) {
                wrong.add(name);
            }
        });
        assertTrue(wrong.isEmpty(), "trainable flags wrong for " + wrong);
    }

    private static Map<String, float[]> weights(Block model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }
}

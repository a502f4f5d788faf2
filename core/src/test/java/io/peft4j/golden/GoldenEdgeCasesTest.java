package io.peft4j.golden;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.testmodels.GoldenModels;
import io.peft4j.testmodels.TorchWeights;
import io.peft4j.tuner.ModelAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PEFT 0.20.0 edge cases with more than one adapter or a {@code PeftModel} file, in-process through the Java API
 * (h1, h2 and h7 run in {@link GoldenCasesTest}): h3 ({@code save_pretrained} output: keys prefixed
 * {@code base_model.model.}, {@code inference_mode: true}), h5 (adapters {@code de} and {@code default}), h6 (a
 * second IA3 adapter).
 */
class GoldenEdgeCasesTest extends DjlTestCase {

    private static final double TOLERANCE = 1e-5;

    @Test
    void savePretrainedOutputLoadsAndMergesAndUnloadsAsPeft(@TempDir Path tmp) throws Exception {
        GoldenCase c = GoldenCase.named("h3_saved_pretrained_prefix");
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        float[] base = GoldenCase.forward(model, input, manager);
        GoldenCase.assertClose(c.expected("expected_output_disabled.safetensors"), base, TOLERANCE, "base");

        ModelAdapters adapters = Peft.loadAdapter(model, c.dir());
        GoldenCase.assertClose(c.expected("expected_output.safetensors"), GoldenCase.forward(model, input, manager),
                TOLERANCE, "active");
        List<String> peftKeys = new ArrayList<>();
        for (String line : c.lines("injected_state_dict_keys.txt")) {
            peftKeys.add(line.substring(PeftStateDicts.PEFT_MODEL_PREFIX.length()));
        }
        assertEquals(peftKeys, describe(PeftStateDicts.namedParameters(adapters)), "injected parameter names");
        List<String> keys = new ArrayList<>();
        Peft.getStateDict(model).forEach((k, v) -> keys.add(PeftStateDicts.PEFT_MODEL_PREFIX + k + "\t"
                + GoldenCasesTest.shape(v)));
        assertEquals(c.lines("keys.txt"), keys, "state dict keys (PeftModel adds base_model.model.)");

        adapters.merge(adapters.activeAdapters(), true);
        GoldenCase.assertClose(c.expected("expected_output_merged.safetensors"),
                GoldenCase.forward(model, input, manager), TOLERANCE, "merged");
        adapters.unmerge();

        Peft.saveAdapter(model, tmp);
        assertEquals(Files.readString(c.file("adapter_config.json")), Files.readString(tmp.resolve(
                "adapter_config.json")), "the config is written back as read (inference_mode, auto_mapping)");

        Block unloaded = Peft.mergeAndUnload(model);
        assertFalse(Peft.adapters(model).isPresent());
        GoldenCase.assertClose(c.expected("expected_output_merged.safetensors"),
                GoldenCase.forward(unloaded, input, manager), TOLERANCE, "merge_and_unload output");
        Block peftMerged = GoldenModels.build(c.json().get("model").asText(), c.dir());
        TorchWeights.load(peftMerged, c.file("merged_model.safetensors"), manager);
        Map<String, Parameter> expected = parameters(peftMerged);
        Map<String, Parameter> actual = parameters(unloaded);
        assertEquals(expected.keySet(), actual.keySet(), "merge_and_unload leaves the base parameters only");
        expected.forEach((name, p) -> GoldenCase.assertClose(p.getArray().toFloatArray(),
                actual.get(name).getArray().toFloatArray(), 1e-6, "merged_model.safetensors " + name));
    }

    @Test
    void adaptersWhoseNamesArePrefixesOfEachOtherStaySeparate(@TempDir Path tmp) throws Exception {
        GoldenCase c = GoldenCase.named("h5_two_adapters_prefix_names");
        for (List<String> order : List.of(List.of("de", "default"), List.of("default", "de"))) {
            Block model = c.buildBaseModel(manager);
            NDArray input = c.input(manager);
            ModelAdapters adapters = null;
            for (String name : order) {
                adapters = Peft.loadAdapter(model, c.file(name), name);
            }
            String as = " (injected " + order + ")";
            if (order.get(1).equals("default")) {
                GoldenCase.assertClose(c.expected("expected_output_as_injected.safetensors"),
                        GoldenCase.forward(model, input, manager), TOLERANCE, "as injected" + as);
            }
            for (String active : List.of("de", "default")) {
                adapters.setActiveAdapters(List.of(active));
                GoldenCase.assertClose(c.expected("expected_output_" + active + ".safetensors"),
                        GoldenCase.forward(model, input, manager), TOLERANCE, active + as);
            }
            adapters.setActiveAdapters(List.of("de", "default"));
            GoldenCase.assertClose(c.expected("expected_output_both.safetensors"),
                    GoldenCase.forward(model, input, manager), TOLERANCE, "both" + as);
            adapters.setAdaptersEnabled(false);
            GoldenCase.assertClose(c.expected("expected_output_disabled.safetensors"),
                    GoldenCase.forward(model, input, manager), TOLERANCE, "disabled" + as);
            adapters.setAdaptersEnabled(true);
            for (String name : order) {
                List<String> keys = new ArrayList<>();
                Peft.getStateDict(model, name).forEach((k, v) -> keys.add(k + "\t" + GoldenCasesTest.shape(v)));
                assertEquals(c.lines(name + "/keys.txt"), keys, name + " keys" + as);
                Path dir = tmp.resolve(order.get(0) + "-first").resolve(name);
                Peft.saveAdapter(model, dir, name);
                assertArrayEquals(Files.readAllBytes(c.file(name + "/adapter_model.safetensors")),
                        Files.readAllBytes(dir.resolve("adapter_model.safetensors")), name + " saved bytes" + as);
            }
            // BaseTunerLayer.delete_adapter: fc1 had only 'de' and activates nothing (the model's new active list, as
            // PEFT takes the first layer's), fc2 and head activate 'default': the output is default's
            adapters.setActiveAdapters(List.of("de"));
            adapters.deleteAdapter("de");
            assertEquals(List.of(), adapters.activeAdapters(), "active after deleting de" + as);
            GoldenCase.assertClose(c.expected("expected_output_default.safetensors"),
                    GoldenCase.forward(model, input, manager), TOLERANCE, "after deleting de" + as);
        }
    }

    /**
     * h6: IA3Model._create_and_replace calls update_layer on an existing IA3 layer, which keeps the layer's
     * is_feedforward: 'other' (feedforward_modules=['fc2']) gets fc1 as feed-forward like 'default'.
     */
    @Test
    void aSecondIa3AdapterKeepsTheLayersFeedforwardChoice(@TempDir Path tmp) throws Exception {
        GoldenCase c = GoldenCase.named("h6_ia3_second_adapter_ff");
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        Peft.loadAdapter(model, c.file("default"), "default");
        ModelAdapters adapters = Peft.loadAdapter(model, c.file("other"), "other");
        GoldenCase.assertClose(c.expected("expected_output_as_injected.safetensors"),
                GoldenCase.forward(model, input, manager), TOLERANCE, "as injected");
        for (String active : List.of("default", "other")) {
            adapters.setActiveAdapters(List.of(active));
            GoldenCase.assertClose(c.expected("expected_output_" + active + ".safetensors"),
                    GoldenCase.forward(model, input, manager), TOLERANCE, active);
        }
        adapters.setActiveAdapters(List.of("default", "other"));
        GoldenCase.assertClose(c.expected("expected_output_both.safetensors"),
                GoldenCase.forward(model, input, manager), TOLERANCE, "both (vectors multiplied)");
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertClose(c.expected("expected_output_disabled.safetensors"),
                GoldenCase.forward(model, input, manager), TOLERANCE, "disabled");
        adapters.setAdaptersEnabled(true);
        for (String name : List.of("default", "other")) {
            List<String> keys = new ArrayList<>();
            Peft.getStateDict(model, name).forEach((k, v) -> keys.add(k + "\t" + GoldenCasesTest.shape(v)));
            assertEquals(c.lines(name + "/keys.txt"), keys, name + " keys");
            Peft.saveAdapter(model, tmp.resolve(name), name);
            assertArrayEquals(Files.readAllBytes(c.file(name + "/adapter_model.safetensors")),
                    Files.readAllBytes(tmp.resolve(name).resolve("adapter_model.safetensors")), name + " bytes");
        }
        adapters.setActiveAdapters(List.of("other"));
        adapters.merge(List.of("other"), true);
        GoldenCase.assertClose(c.expected("expected_output_merged_other.safetensors"),
                GoldenCase.forward(model, input, manager), TOLERANCE, "merged other");

        // PEFT cannot load 'other' alone: its config makes fc1 an output-scaling layer ([32, 1])
        Block fresh = c.buildBaseModel(manager);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Peft.loadAdapter(fresh, c.file("other"), "other"));
        assertTrue(e.getMessage().contains("size mismatch for fc1.ia3_l: copying a param with shape (1, 16)"),
                e.getMessage());
        assertFalse(Peft.adapters(fresh).map(m -> !m.adapterNames().isEmpty()).orElse(false), "nothing left");
    }

    static List<String> describe(Map<String, Parameter> params) {
        List<String> out = new ArrayList<>();
        params.forEach((k, p) -> out.add(k + "\t" + GoldenCasesTest.shape(p.getArray())));
        return out;
    }

    private static Map<String, Parameter> parameters(Block block) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            out.put(p.getKey(), p.getValue());
        }
        return out;
    }
}

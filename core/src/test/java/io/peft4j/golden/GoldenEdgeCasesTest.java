package io.peft4j.golden;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
 * {@code base_model.model.}, {@code inference_mode: true}), h5 (adapters {@code de} and {@code default}).
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

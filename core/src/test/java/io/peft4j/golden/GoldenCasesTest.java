package io.peft4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The single-adapter golden cases of PEFT 0.20.0 (LoRA on Linear, Embedding, Conv2d; IA3; AdaLoRA; and the edge
 * cases DoRA on Linear, Conv2d and Embedding, {@code lora_bias}, a {@code modules_to_save} name that is a suffix of two
 * modules, an adapter named {@code lora}), in-process through the Java API under the case's adapter name: outputs
 * active, disabled and merged, the injected model's parameter names, the adapter state dict, and the saved files byte
 * for byte.
 */
class GoldenCasesTest extends DjlTestCase {


    @ParameterizedTest
    @ValueSource(strings = {"a_lora_dummy", "b1_lora_mlp", "b2_lora_mlp_rslora", "b3_lora_mlp_bias_all",
        "b4_lora_mlp_bias_lora_only", "b5_lora_mlp_rank_alpha_pattern", "b6_lora_mlp_modules_to_save",
        "f1_lora_mlp_regex", "c1_lora_embedding", "c2_lora_conv2d", "d_ia3_mlp", "e_adalora_mlp",
        "h1_lora_bias", "h2_modules_to_save_suffix", "h7_adapter_named_lora"})
    void reproducesPeft(String caseName, @TempDir Path tmp) throws Exception {
        reproduces(GoldenCase.named(caseName), caseName, tmp);
    }

    /**
     * DoRA as PEFT's {@code DoraLinearVariant} ({@code h4}), conv variant ({@code h8}, magnitude {@code [1, out, 1,
     * 1]})
     * and {@code DoraEmbeddingVariant} ({@code h9}, magnitude per embedding dimension).
     */
    @ParameterizedTest
    @ValueSource(strings = {"h4_dora_mlp", "h8_dora_conv2d", "h9_dora_embedding"})
    void reproducesPeftEdgeCases(String caseName, @TempDir Path tmp) throws Exception {
        reproduces(GoldenCase.edge(caseName), caseName, tmp);
    }

    private void reproduces(GoldenCase c, String caseName, Path tmp) throws Exception {
        Block model = c.buildBaseModel(manager);
        NDArray input = c.input(manager);
        float[] base = GoldenCase.forward(model, input, manager);
        GoldenCase.assertClose(c.expected("expected_output_disabled.safetensors"), base, 1e-5, "base output");

        String name = c.json().path("adapter_name").asText(Peft.DEFAULT_ADAPTER);
        ModelAdapters adapters = Peft.loadAdapter(model, c.dir(), name);

        GoldenCase.assertClose(c.expected("expected_output.safetensors"), GoldenCase.forward(model, input, manager),
                1e-5, caseName + " active");

        adapters.setAdaptersEnabled(false);
        float[] disabled = GoldenCase.forward(model, input, manager);
        GoldenCase.assertIdentical(base, disabled, caseName + " disabled equals base bit for bit");
        adapters.setAdaptersEnabled(true);

        if (Files.exists(c.file("expected_output_merged.safetensors"))) {
            Map<String, float[]> before = weights(model);
            adapters.merge(adapters.activeAdapters(), true);
            GoldenCase.assertClose(c.expected("expected_output_merged.safetensors"),
                    GoldenCase.forward(model, input, manager), 1e-5, caseName + " merged");
            adapters.unmerge();
            Map<String, float[]> after = weights(model);
            for (String key : before.keySet()) {
                GoldenCase.assertClose(before.get(key), after.get(key), 1e-6, "unmerge restores " + key);
            }
            GoldenCase.assertClose(c.expected("expected_output.safetensors"),
                    GoldenCase.forward(model, input, manager), 1e-5, caseName + " after unmerge");
        }

        assertEquals(c.lines("injected_state_dict_keys.txt"), describe(PeftStateDicts.namedParameters(adapters)),
                "injected model's parameter names");

        Map<String, NDArray> stateDict = Peft.getStateDict(model, name);
        List<String> keys = new ArrayList<>();
        stateDict.forEach((k, v) -> keys.add(k + "\t" + shape(v)));
        assertEquals(c.lines("keys.txt"), keys, "adapter state dict keys");
        SafetensorsFile golden = SafetensorsFile.read(c.file("adapter_model.safetensors"));
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            assertArrayEquals(golden.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), 0f, e.getKey());
        }

        Peft.saveAdapter(model, tmp, name);
        assertArrayEquals(Files.readAllBytes(c.file("adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("adapter_model.safetensors")), "adapter_model.safetensors bytes");
        assertEquals(Files.readString(c.file("adapter_config.json")),
                Files.readString(tmp.resolve("adapter_config.json")), "adapter_config.json");
    }

    private static Map<String, float[]> weights(Block model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private static List<String> describe(Map<String, Parameter> params) {
        List<String> out = new ArrayList<>();
        params.forEach((k, p) -> out.add(k + "\t" + shape(p.getArray())));
        return out;
    }

    static String shape(NDArray array) {
        StringBuilder sb = new StringBuilder("[");
        long[] dims = array.getShape().getShape();
        for (int i = 0; i < dims.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        return sb.append(']').toString();
    }

}

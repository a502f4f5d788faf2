package io.peft4j.traced;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The golden cases whose TorchScript trace a merged adapter must reproduce: which adapters to load, which to
 * activate, and the expected output file (PEFT's output after {@code merge()}, or its adapted output where PEFT wrote
 * no merged file: merging is exact up to rounding).
 */
record TracedCases(String name, Path dir, Map<String, Path> adapters, List<String> active, String expected) {

    /** Every case, in the order the tests run them. */
    static List<TracedCases> all() {
        Path g = GoldenCase.root();
        Path e = g.resolveSibling("golden-edge");
        return List.of(
                single(g, "a_lora_dummy", "expected_output_merged.safetensors"),
                single(g, "b1_lora_mlp", "expected_output_merged.safetensors"),
                single(g, "b2_lora_mlp_rslora", "expected_output_merged.safetensors"),
                single(g, "b3_lora_mlp_bias_all", "expected_output_merged.safetensors"),
                single(g, "b4_lora_mlp_bias_lora_only", "expected_output_merged.safetensors"),
                single(g, "b5_lora_mlp_rank_alpha_pattern", "expected_output_merged.safetensors"),
                single(g, "b6_lora_mlp_modules_to_save", "expected_output.safetensors"),
                single(g, "c1_lora_embedding", "expected_output_merged.safetensors"),
                single(g, "c2_lora_conv2d", "expected_output_merged.safetensors"),
                single(g, "d_ia3_mlp", "expected_output_merged.safetensors"),
                single(g, "e_adalora_mlp", "expected_output_merged.safetensors"),
                single(g, "f1_lora_mlp_regex", "expected_output_merged.safetensors"),
                named(g, "g_two_adapters", List.of("default", "other"), List.of("default", "other"),
                        "expected_output_merged_both.safetensors"),
                single(e, "h1_lora_bias", "expected_output_merged.safetensors"),
                single(e, "h2_modules_to_save_suffix", "expected_output.safetensors"),
                single(e, "h3_saved_pretrained_prefix", "expected_output_merged.safetensors"),
                single(e, "h4_dora_mlp", "expected_output_merged.safetensors"),
                named(e, "h5_two_adapters_prefix_names", List.of("de", "default"), List.of("de", "default"),
                        "expected_output_both.safetensors"),
                named(e, "h6_ia3_second_adapter_ff", List.of("default", "other"), List.of("other"),
                        "expected_output_merged_other.safetensors"),
                single(e, "h7_adapter_named_lora", "expected_output_merged.safetensors"),
                single(e, "h8_dora_conv2d", "expected_output_merged.safetensors"),
                single(e, "h9_dora_embedding", "expected_output_merged.safetensors"),
                single(e, "t1_gpt_conv1d_fan_in_fan_out", "expected_output_merged.safetensors"),
                single(e, "t2_tiny_bert_qv", "expected_output_merged.safetensors"),
                single(e, "t3a_tiny_bert_ia3", "expected_output_merged.safetensors"),
                single(e, "t3b_tiny_bert_adalora", "expected_output_merged.safetensors"),
                named(e, "w4_weighted_linear", List.of("combined"), List.of("combined"),
                        "expected_output.safetensors"));
    }

    private static TracedCases single(Path root, String name, String expected) {
        Path dir = root.resolve(name);
        return new TracedCases(name, dir, Map.of("default", dir), List.of("default"), expected);
    }

    private static TracedCases named(Path root, String name, List<String> adapters, List<String> active,
            String expected) {
        Path dir = root.resolve(name);
        Map<String, Path> map = new LinkedHashMap<>();
        adapters.forEach(a -> map.put(a, dir.resolve(a)));
        return new TracedCases(name, dir, map, active, expected);
    }

    /** The case's TorchScript file. */
    Path torchscript() {
        return dir.resolve("base_model.torchscript.pt");
    }

    /** Loads the trace as an application would, with trainable (non-inference) parameters. */
    Model load() throws Exception {
        Model model = Model.newInstance(name, "PyTorch");
        model.load(dir, "base_model.torchscript", Map.of("trainParam", "true"));
        return model;
    }

    /** An inference forward pass of {@code model} on the case's input. */
    float[] forward(Model model) throws IOException {
        try (NDManager scope = model.getNDManager().newSubManager()) {
            NDArray x = TensorArrays.toNDArray(
                    SafetensorsFile.read(dir.resolve("input.safetensors")).get("input"), scope);
            NDList out = model.getBlock().forward(new ParameterStore(scope, false), new NDList(x), false);
            return out.head().toFloatArray();
        }
    }

    /** A file's tensor {@code output}. */
    float[] output(String file) throws IOException {
        return SafetensorsFile.read(dir.resolve(file)).get("output").toFloatArray();
    }

    @Override
    public String toString() {
        return name;
    }
}

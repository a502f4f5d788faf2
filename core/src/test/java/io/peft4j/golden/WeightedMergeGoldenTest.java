package io.peft4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.Peft;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorData;
import io.peft4j.lora.AdapterCombiner;
import io.peft4j.lora.Combination;
import io.peft4j.lora.CombineOptions;
import io.peft4j.lora.MajoritySignMethod;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT 0.20's {@code add_weighted_adapter} golden cases w1..w5 (ties, magnitude_prune, ties_svd, linear, svd with
 * clamp; from {@code peft-0.20.0-edge}): the combined adapter PEFT wrote is reproduced tensor by tensor, and its
 * outputs, through the Java API on a live model and through the offline combiner the CLI runs.
 */
class WeightedMergeGoldenTest {

    /** Factor merges are float32 elementwise in PEFT's order; SVD merges differ from LAPACK by rounding. */
    private static double tolerance(String name) {
        return name.contains("svd") ? 2e-5 : 1e-7;
    }

    static Combination combination(JsonNode kwargs) {
        return Combination.ofPeftName(kwargs.get("combination_type").asText());
    }

    static CombineOptions options(JsonNode kwargs) {
        CombineOptions o = CombineOptions.DEFAULTS;
        if (kwargs.hasNonNull("svd_rank")) {
            o = o.withSvdRank(kwargs.get("svd_rank").asInt());
        }
        if (kwargs.hasNonNull("svd_clamp")) {
            o = o.withSvdClamp(kwargs.get("svd_clamp").asDouble());
        }
        if (kwargs.hasNonNull("density")) {
            o = o.withDensity(kwargs.get("density").asDouble());
        }
        if (kwargs.hasNonNull("majority_sign_method")) {
            o = o.withMajoritySign(MajoritySignMethod.ofPeftName(kwargs.get("majority_sign_method").asText()));
        }
        return o;
    }

    static List<Double> weights(JsonNode kwargs) {
        List<Double> w = new ArrayList<>();
        kwargs.get("weights").forEach(v -> w.add(v.asDouble()));
        return w;
    }

    @ParameterizedTest
    @ValueSource(strings = {"w1_weighted_ties", "w2_weighted_magnitude_prune", "w3_weighted_ties_svd",
        "w4_weighted_linear", "w5_weighted_svd_clamp"})
    void javaApiReproducesPeftsCombinedAdapter(String name) throws Exception {
        GoldenCase c = GoldenCase.named(name);
        JsonNode kwargs = c.json().get("add_weighted_adapter_kwargs");
        try (NDManager manager = NDManager.newBaseManager()) {
            Block model = c.buildBaseModel(manager);
            NDArray input = c.input(manager);
            Peft.loadAdapter(model, c.file("a"), "a");
            ModelAdapters adapters = Peft.loadAdapter(model, c.file("b"), "b");
            adapters.setActiveAdapters(List.of("a"));
            assertTrue(Peft.addWeightedAdapter(model, List.of("a", "b"), weights(kwargs), "combined",
                    combination(kwargs), options(kwargs)));
            assertEquals(List.of("a"), adapters.activeAdapters(), "the combined adapter is not activated");
            GoldenCase.assertClose(c.expected("expected_output_a.safetensors"), GoldenCase.forward(model, input,
                    manager), 1e-6, name + ": output right after add_weighted_adapter is adapter a's");
            Map<String, NDArray> state = Peft.getStateDict(model, "combined");
            SafetensorsFile peft = SafetensorsFile.read(c.file("combined/adapter_model.safetensors"));
            assertEquals(new TreeSet<>(peft.names()), new TreeSet<>(state.keySet()), name + ": keys");
            for (String key : peft.names()) {
                assertClose(peft.get(key), state.get(key).toFloatArray(), tolerance(name), name + " " + key);
            }
            adapters.setActiveAdapters(List.of("combined"));
            GoldenCase.assertClose(c.expected("expected_output.safetensors"), GoldenCase.forward(model, input,
                    manager), 1e-5, name + ": output with the combined adapter");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"w1_weighted_ties", "w2_weighted_magnitude_prune", "w3_weighted_ties_svd",
        "w4_weighted_linear", "w5_weighted_svd_clamp"})
    void offlineCombinerWritesPeftsFiles(String name, @TempDir Path out) throws Exception {
        GoldenCase c = GoldenCase.named(name);
        JsonNode kwargs = c.json().get("add_weighted_adapter_kwargs");
        AdapterCombiner.Result result = AdapterCombiner.combine(List.of(c.file("a"), c.file("b")), weights(kwargs),
                combination(kwargs), options(kwargs), out);
        assertEquals(List.of("fc1", "fc2"), result.modules());
        SafetensorsFile peft = SafetensorsFile.read(c.file("combined/adapter_model.safetensors"));
        SafetensorsFile ours = SafetensorsFile.read(out.resolve("adapter_model.safetensors"));
        assertEquals(peft.names(), ours.names(), name + ": keys in PEFT's order");
        assertEquals(peft.metadata(), ours.metadata(), name + ": metadata");
        for (String key : peft.names()) {
            assertEquals(List.of(box(peft.get(key).shape())), List.of(box(ours.get(key).shape())), key);
            assertClose(peft.get(key), ours.get(key).toFloatArray(), tolerance(name), name + " " + key);
        }
        ObjectMapper mapper = new ObjectMapper();
        JsonNode expected = mapper.readTree(c.file("combined/adapter_config.json").toFile());
        JsonNode actual = mapper.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(new TreeSet<>(iterable(expected.fieldNames())), new TreeSet<>(iterable(actual.fieldNames())),
                "config keys");
        expected.fieldNames().forEachRemaining(field -> {
            if (field.equals("target_modules")) {
                assertEquals(texts(expected.get(field)), texts(actual.get(field)), "target_modules as a set");
            } else {
                assertEquals(expected.get(field), actual.get(field), name + ": config field " + field);
            }
        });
        // the combined files load like PEFT's and give PEFT's output
        try (NDManager manager = NDManager.newBaseManager()) {
            Block model = c.buildBaseModel(manager);
            Peft.loadAdapter(model, out, "combined");
            GoldenCase.assertClose(c.expected("expected_output.safetensors"), GoldenCase.forward(model,
                    c.input(manager), manager), 1e-5, name + ": output of the offline combination");
        }
    }

    private static void assertClose(TensorData expected, float[] actual, double tolerance, String what) {
        GoldenCase.assertClose(expected.toFloatArray(), actual, tolerance, what);
    }

    private static List<Long> box(long[] shape) {
        List<Long> out = new ArrayList<>();
        for (long s : shape) {
            out.add(s);
        }
        return out;
    }

    private static TreeSet<String> texts(JsonNode array) {
        TreeSet<String> out = new TreeSet<>();
        array.forEach(v -> out.add(v.asText()));
        return out;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}

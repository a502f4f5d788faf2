package io.peft4j.traced;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Model;
import io.peft4j.golden.GoldenCase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

/**
 * Every golden case on its TorchScript trace through the Java API: load the trace, read the adapters, activate,
 * and the merged model reproduces PEFT's output (abs 1e-5; libtorch 2.7 vs torch 1.13 differ by ~1e-6); unmerging
 * restores the base output within 1e-6.
 */
class TracedGoldenMergeTest {

    static List<TracedCases> cases() {
        return TracedCases.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void mergedTraceReproducesPeft(TracedCases c) throws Exception {
        try (Model model = c.load()) {
            float[] base = c.forward(model);
            GoldenCase.assertClose(c.output("expected_output_disabled.safetensors"), base, 1e-5, c + " base");
            TracedModel traced = TracedModels.forBlock(model.getBlock());
            for (Map.Entry<String, java.nio.file.Path> e : c.adapters().entrySet()) {
                traced.load(e.getValue(), e.getKey());
            }
            traced.setActiveAdapters(c.active());
            assertEquals(c.active(), traced.activeAdapters());
            GoldenCase.assertClose(c.output(c.expected()), c.forward(model), 1e-5, c + " merged vs " + c.expected());
            traced.unmerge();
            GoldenCase.assertClose(base, c.forward(model), 1e-6, c + " after unmerge vs base");
            traced.merge();
            GoldenCase.assertClose(c.output(c.expected()), c.forward(model), 1e-5, c + " merged again");
        }
    }
}

package io.peft4j.traced;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import io.peft4j.Peft;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;

/**
 * Offline merge through the Java API: every golden trace merged into a new TorchScript file, which loaded without any
 * adapter gives PEFT's merged output; the safetensors format holds PEFT's merged weights; the input file is untouched.
 */
class TorchScriptMergeTest {

    @TempDir
    Path tmp;

    static List<TracedCases> cases() {
        return TracedCases.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void mergedFileReproducesPeftWithoutAdapters(TracedCases c) throws Exception {
        byte[] before = sha256(c.torchscript());
        Path out = tmp.resolve(c.name() + ".pt");
        TorchScriptMerge.Result result = Peft.mergeIntoTorchScript(c.torchscript(), c.adapters(), c.active(), out,
                TorchScriptMerge.Format.TORCHSCRIPT);
        assertEquals(out.toAbsolutePath(), result.output());
        assertTrue(result.modules() > 0, result.toString());
        try (Model merged = Model.newInstance("merged", "PyTorch")) {
            merged.load(out);
            GoldenCase.assertClose(c.output(c.expected()), c.forward(merged), 1e-5, c + " merged file");
        }
        assertTrue(java.util.Arrays.equals(before, sha256(c.torchscript())), "the input file was changed");
    }

    @Test
    void safetensorsFormatHoldsPeftsMergedWeights() throws Exception {
        for (TracedCases c : List.of(TracedCases.all().get(1), TracedCases.all().get(22))) {
            Path out = tmp.resolve(c.name() + ".safetensors");
            Peft.mergeIntoTorchScript(c.torchscript(), c.adapters(), out, TorchScriptMerge.Format.SAFETENSORS);
            Map<String, TensorData> expected = SafetensorsFile.read(c.dir().resolve("merged_model.safetensors"))
                    .tensors();
            Map<String, TensorData> actual = SafetensorsFile.read(out).tensors();
            assertEquals(expected.keySet(), actual.keySet(), c + ": parameter names");
            for (String name : expected.keySet()) {
                GoldenCase.assertClose(expected.get(name).toFloatArray(), actual.get(name).toFloatArray(), 1e-6,
                        c + " " + name);
            }
        }
    }

    private static byte[] sha256(Path file) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    }
}

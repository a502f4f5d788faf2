package io.peft4j.traced;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a traced model refuses: keys that match no parameter, tensors whose shapes disagree, modules whose kind the
 * model cannot tell, merges that would produce NaN. Every error names the key or module and the shapes, and the
 * model keeps its base weights (never a partial merge: what was merged before the failure is unmerged again).
 */
class TracedErrorsTest {

    private static final TracedCases B1 = TracedCases.all().get(1);
    private static final TracedCases DUMMY = TracedCases.all().get(0);

    @TempDir
    Path tmp;

    /** b1's adapter with {@code edit} applied to its tensors. */
    private Path b1With(java.util.function.Consumer<Map<String, TensorData>> edit) throws Exception {
        Map<String, TensorData> tensors = new LinkedHashMap<>(
                SafetensorsFile.read(B1.dir().resolve("adapter_model.safetensors")).tensors());
        edit.accept(tensors);
        Path dir = Files.createDirectories(tmp.resolve("adapter"));
        Files.copy(B1.dir().resolve("adapter_config.json"), dir.resolve("adapter_config.json"));
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }

    private static TensorData zeros(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return TensorData.ofFloats(shape, new float[(int) n]);
    }

    private <T extends Throwable> T refused(TracedCases c, Path adapter, Class<T> type) throws Exception {
        try (Model model = c.load()) {
            float[] base = c.forward(model);
            TracedModel traced = TracedModels.forBlock(model.getBlock());
            T error = assertThrows(type, () -> {
                traced.load(adapter, "default");
                traced.setActiveAdapters(List.of("default"));
            });
            // Exactly the base when nothing was merged; within rounding when earlier modules were merged and undone.
            GoldenCase.assertClose(base, c.forward(model), 1e-6, c + ": weights after the refused adapter");
            assertTrue(traced.activeAdapters().isEmpty(), "no adapter may stay active: " + traced.activeAdapters());
            return error;
        }
    }

    @Test
    void aTensorOfTheWrongShapeIsASizeMismatchNamingKeyAndShapes() throws Exception {
        Path adapter = b1With(t -> t.put("fc2.lora_A.weight", zeros(4, 20)));
        IllegalArgumentException e = refused(B1, adapter, IllegalArgumentException.class);
        assertTrue(e.getMessage().contains("size mismatch for fc2.lora_A.weight: copying a param with shape [4, 20]"
                + " from checkpoint, the shape in current model is [4, 32]."), e.getMessage());
        assertTrue(e.getMessage().contains("adapter_model.safetensors") && e.getMessage().contains("fc2"),
                e.getMessage());
    }

    @Test
    void aKeyForAModuleTheConfigDoesNotTargetIsUnexpected() throws Exception {
        Path adapter = b1With(t -> t.put("head.lora_A.weight", zeros(4, 32)));
        IllegalArgumentException e = refused(B1, adapter, IllegalArgumentException.class);
        assertTrue(e.getMessage().contains("unexpected key head.lora_A.weight: module 'head' exists but the adapter's"
                + " target_modules do not select it (targeted: [fc1, fc2])"), e.getMessage());
    }

    @Test
    void aKeyForAModuleTheModelLacksIsUnexpected() throws Exception {
        Path adapter = b1With(t -> t.put("encoder.fc9.lora_A.weight", zeros(4, 32)));
        IllegalArgumentException e = refused(B1, adapter, IllegalArgumentException.class);
        assertTrue(e.getMessage().contains("unexpected key encoder.fc9.lora_A.weight: the traced model has no module"
                + " 'encoder.fc9' (modules with weights: [fc1, fc2, head])"), e.getMessage());
    }

    @Test
    void aMissingTensorOfATargetedModuleIsAnError() throws Exception {
        Path adapter = b1With(t -> t.remove("fc2.lora_B.weight"));
        IllegalArgumentException e = refused(B1, adapter, IllegalArgumentException.class);
        assertTrue(e.getMessage().contains("missing adapter key fc2.lora_B.weight (shape [32, 4]) for module 'fc2'"),
                e.getMessage());
    }

    @Test
    void aMergeThatWouldProduceNanChangesNothing() throws Exception {
        Path adapter = b1With(t -> {
            float[] values = SafetensorsFileValues.floats(t.get("fc2.lora_B.weight"));
            values[5] = Float.NaN;
            t.put("fc2.lora_B.weight", TensorData.ofFloats(new long[] {32, 4}, values));
        });
        IllegalStateException e = refused(B1, adapter, IllegalStateException.class);
        assertEquals("merging LoRA of 'fc2' would produce NaN or Inf in the base weights; nothing was merged",
                e.getMessage());
    }

    @Test
    void aTwoDimensionalWeightWithoutBiasIsAmbiguousWithoutAdapterWeights() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("fresh"));
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"embedding\"]}");
        PeftConfigException e = refused(DUMMY, dir, PeftConfigException.class);
        assertTrue(e.getMessage().startsWith("module 'embedding' is ambiguous: its weight [10, 10] has no bias, and a"
                + " traced model does not tell a Linear without bias from an Embedding"), e.getMessage());
    }

    @Test
    void targetModulesThatMatchNothingIsPeftsError() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("nomatch"));
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"target_modules\": [\"q_proj\"]}");
        PeftConfigException e = refused(B1, dir, PeftConfigException.class);
        assertEquals("Target modules {'q_proj'} not found in the base model. Please check the target modules and try"
                + " again.", e.peftMessage());
        assertTrue(e.getMessage().startsWith(e.peftMessage() + " The model's module paths nearest to it: 'fc1',"
                + " 'fc2', 'head' (3 of 3 leaf modules; every path: "), e.getMessage());
    }

    @Test
    void aContainerWithoutWeightCannotBeTargeted() throws Exception {
        TracedCases bert = TracedCases.all().stream().filter(c -> c.name().startsWith("t2")).findFirst().get();
        Path dir = Files.createDirectories(tmp.resolve("container"));
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"target_modules\": [\"attention\"]}");
        PeftConfigException e = refused(bert, dir, PeftConfigException.class);
        assertTrue(e.getMessage().startsWith("Target module 'encoder.layer.0.attention' is not supported: in the"
                + " traced model it has no weight of its own"), e.getMessage());
    }

    /** Reads a float tensor's values. */
    private static final class SafetensorsFileValues {
        static float[] floats(TensorData t) {
            return t.toFloatArray();
        }
    }
}

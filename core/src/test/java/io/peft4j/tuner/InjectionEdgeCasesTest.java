package io.peft4j.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Injection paths of PEFT 0.20's {@code BaseTuner.inject_adapter} beyond the golden cases. */
class InjectionEdgeCasesTest extends DjlTestCase {

    private Mlp mlp() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        return mlp;
    }

    /** _maybe_include_all_linear_layers replaces "all-linear" in the config by the names it found. */
    @Test
    void allLinearIsSavedAsTheExpandedNames(@TempDir Path tmp) throws Exception {
        Mlp mlp = mlp();
        Peft.injectAdapter(LoraConfig.builder().r(2).targetModules("all-linear").build(), mlp);
        Peft.saveAdapter(mlp, tmp);
        JsonNode saved = new ObjectMapper().readTree(tmp.resolve("adapter_config.json").toFile());
        List<String> targets = new ArrayList<>();
        saved.get("target_modules").forEach(n -> targets.add(n.asText()));
        // old code: "all-linear" (a file that would target other layers on another model)
        assertEquals(List.of("fc1", "fc2", "head"), targets);
    }

    /**
     * _create_and_replace finds a ModulesToSaveWrapper at another adapter's modules_to_save module and raises "Target
     * module ... is not supported".
     */
    @Test
    void targetingAnotherAdaptersModulesToSaveModuleIsRefused() {
        Mlp mlp = mlp();
        ModelAdapters adapters = Peft.injectAdapter(LoraConfig.builder().targetModules(List.of("fc1"))
                .modulesToSave(List.of("head")).build(), mlp, "a");
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(
                LoraConfig.builder().targetModules(List.of("fc2", "head")).build(), mlp, "b"));
        // old code: 'head' was skipped silently and 'b' went onto fc2 only
        assertTrue(e.getMessage().startsWith("Target module 'head' (ModulesToSaveWrapper of ai.djl.nn.core.Linear"),
                e.getMessage());
        assertTrue(e.getMessage().contains("is not supported. Currently, only the following modules are supported"),
                e.getMessage());
        assertEquals(List.of("a"), adapters.adapterNames());
    }

    /** lora.ConvNd builds lora_A without dilation, which for a 1x1 kernel gives the same output: accepted. */
    @Test
    void aDilatedPointwiseConvolutionIsAccepted() {
        SequentialBlock model = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(1, 1))
                .setFilters(4).optDilation(new Shape(2, 2)).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3, 5, 5));
        NDArray x = manager.randomNormal(new Shape(2, 3, 5, 5));
        float[] base = GoldenCase.forward(model, x, manager);
        // old code: refused as a dilated convolution
        ModelAdapters adapters = Peft.injectAdapter(LoraConfig.builder().r(2).targetModules(List.of("0"))
                .initLoraWeights(InitLoraWeights.FALSE).build(), model);
        float[] active = GoldenCase.forward(model, x, manager);
        double diff = 0;
        for (int i = 0; i < base.length; i++) {
            diff = Math.max(diff, Math.abs(active[i] - base[i]));
        }
        assertTrue(diff > 1e-3, "the adapter changes the output");
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(active, GoldenCase.forward(model, x, manager), 1e-4, "merged = unmerged forward");
    }
}

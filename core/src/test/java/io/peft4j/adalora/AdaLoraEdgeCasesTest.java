package io.peft4j.adalora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.testmodels.Mlp;
import io.peft4j.tuner.ModelAdapters;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdaLoRA's less-trodden paths, each as PEFT 0.20's adalora {@code config}, {@code layer} and {@code model} take it.
 */
class AdaLoraEdgeCasesTest extends DjlTestCase {

    private Mlp mlp() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        return mlp;
    }

    private static AdaLoraConfig.Builder builder() {
        return AdaLoraConfig.adaLoraBuilder().initR(4).targetR(2).totalStep(10).targetModules(List.of("fc1"));
    }

    /** AdaLoraLayer.update_layer: {@code scaling = lora_alpha if lora_alpha > 0 else float(r)}. */
    @Test
    void aNonPositiveLoraAlphaScalesByTheRank() {
        Mlp mlp = mlp();
        NDArray x = manager.randomNormal(mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(builder().loraAlpha(0).initLoraWeights(InitLoraWeights.FALSE)
                .build(), mlp);
        SvdLinear fc1 = (SvdLinear) adapters.tunedModules().get("fc1").adapter("default");
        assertEquals(4.0, fc1.scaling(), "scaling = r");
        // the delta after fc1, through the rest of the model: compare merged (B (A*E) * 4 / (4 + 1e-5)) with forward
        float[] active = GoldenCase.forward(mlp, x, manager);
        NDArray a = fc1.loraA().getArray();
        NDArray e = fc1.loraE().getArray();
        NDArray b = fc1.loraB().getArray();
        NDArray expectedDelta = b.matMul(a.mul(e)).mul((float) (4.0 / (4 + 1e-5)));
        GoldenCase.assertClose(expectedDelta.toFloatArray(), fc1.deltaWeight().toFloatArray(), 1e-6, "delta");
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(active, GoldenCase.forward(mlp, x, manager), 1e-4, "merged = forward");
    }

    /** RankAllocator.mask_to_budget: torch.kthvalue(k = init_bgt - budget) fails when target_r >= init_r. */
    @Test
    void aTargetRankNotBelowTheInitialRankFailsAtTheFirstMaskingStep() {
        Mlp mlp = mlp();
        Peft.injectAdapter(builder().initR(2).targetR(2).tinit(0).tfinal(0).deltaT(1).build(), mlp);
        AdaLoraTraining.afterStep(mlp); // step 0: warm-up (step <= tinit), no mask
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> AdaLoraTraining.afterStep(mlp));
        assertTrue(e.getMessage().contains("PEFT's RankAllocator.mask_to_budget fails here too"), e.getMessage());
    }

    /** AdaLoraConfig.__post_init__ and RankAllocator.__init__'s assertions. */
    @Test
    void invalidSchedulesAreRefused() {
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> builder().orthRegWeight(-0.1).build());
        assertTrue(e.getMessage().contains("`orth_reg_weight` should be greater than or equal to 0, but the value "
                + "passed is -0.1"), e.getMessage());
        Mlp mlp = mlp();
        PeftConfigException beta = assertThrows(PeftConfigException.class,
                () -> Peft.injectAdapter(builder().beta1(1.0).build(), mlp));
        assertTrue(beta.getMessage().contains("beta1") && beta.getMessage().contains("0 < beta1 < 1"),
                beta.getMessage());
        Peft.injectAdapter(builder().beta2(0.0).inferenceMode(true).build(), mlp); // no RankAllocator: accepted
    }

    /**
     * resize_modules_by_rank_pattern reads {@code fc1.lora_E.default} (a config saved mid-training) like
     * {@code fc1.lora_E}; get_peft_model_state_dict writes the keys without the adapter name.
     */
    @Test
    void rankPatternKeysWithTheAdapterNameAreRead(@TempDir Path tmp) throws Exception {
        Map<String, List<Boolean>> masks = new LinkedHashMap<>();
        masks.put("fc1.lora_E.default", List.of(true, false, true, false));
        Mlp mlp = mlp();
        ModelAdapters adapters = Peft.injectAdapter(builder().rankMasks(masks).build(), mlp);
        // old code: the key was not found and fc1 kept all 4 ranks
        assertEquals(2, adapters.tunedModules().get("fc1").adapter("default").rank());
        Peft.saveAdapter(mlp, tmp);
        AdaLoraConfig saved = (AdaLoraConfig) AdapterConfigs.read(tmp);
        assertEquals(Map.of("fc1.lora_E", List.of(true, false, true, false)), saved.rankMasks());
    }

    /** update_and_allocate(global_step) takes the step from the caller: a resumed run continues the schedule. */
    @Test
    void theGlobalStepCanBeSetToResumeTheSchedule() {
        Mlp mlp = mlp();
        ModelAdapters adapters = Peft.injectAdapter(builder().tinit(0).tfinal(0).deltaT(5).build(), mlp);
        assertEquals(0, AdaLoraTraining.globalStep(mlp, "default"));
        AdaLoraTraining.setGlobalStep(mlp, "default", 5);
        AdaLoraTraining.afterStep(mlp); // step 5 % deltaT == 0: masks to the schedule's budget
        assertEquals(6, AdaLoraTraining.globalStep(mlp, "default"));
        assertNotNull(((AdaLoraConfig) adapters.config("default")).rankMasks().get("fc1.lora_E"),
                "ranks allocated at step 5 (from step 0 the first allocation would be at step 5 of this run)");
        assertThrows(IllegalArgumentException.class, () -> AdaLoraTraining.setGlobalStep(mlp, "nope", 1));
    }
}

package io.peft4j.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import io.peft4j.Peft;
import io.peft4j.adalora.AdaLoraConfig;
import io.peft4j.adalora.AdaLoraTraining;
import io.peft4j.adalora.SvdLinear;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.LoraConfig;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.testmodels.Mlp;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code inference_mode} as PEFT 0.20's {@code BaseTuner.inject_adapter} applies it (the new adapter's parameters and
 * {@code modules_to_save} copies get {@code requires_grad = False}), {@code set_requires_grad} undoing it, and
 * {@code AdaLoraModel}'s one-trainable-adapter rule.
 */
class InferenceModeTest extends DjlTestCase {

    private static List<String> trainable(ModelAdapters adapters) {
        List<String> out = new ArrayList<>();
        PeftStateDicts.namedParameters(adapters).forEach((name, p) -> {
            if (p.requiresGradient()) {
                out.add(name);
            }
        });
        return out;
    }

    /** Golden h3: every adapter PeftModel.save_pretrained writes says inference_mode: true. */
    @Test
    void aSavePretrainedAdapterLoadsFrozen() throws Exception {
        GoldenCase c = GoldenCase.named("h3_saved_pretrained_prefix");
        Block model = c.buildBaseModel(manager);
        ModelAdapters adapters = Peft.loadAdapter(model, c.dir());
        // old code: the six lora_A/lora_B parameters trained
        assertEquals(List.of(), trainable(adapters), "inference_mode=true: nothing trains");
        adapters.setRequiresGrad(List.of("default"), true);
        assertEquals(List.of("fc1.lora_A.default.weight", "fc1.lora_B.default.weight", "fc2.lora_A.default.weight",
                "fc2.lora_B.default.weight", "head.lora_A.default.weight", "head.lora_B.default.weight"),
                trainable(adapters), "set_requires_grad(['default'], True)");
        adapters.setActiveAdapters(List.of("default"));
        assertEquals(6, trainable(adapters).size(), "switching keeps the request");
        adapters.setRequiresGrad(List.of("default"), false);
        assertEquals(List.of(), trainable(adapters));
    }

    @Test
    void modulesToSaveCopiesOfAnInferenceModeAdapterAreFrozen() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(LoraConfig.builder().targetModules(List.of("fc1"))
                .modulesToSave(List.of("head")).inferenceMode(true).build(), mlp);
        assertEquals(List.of(), trainable(adapters));
        adapters.setRequiresGrad(List.of("default"), true);
        assertEquals(List.of("fc1.lora_A.default.weight", "fc1.lora_B.default.weight",
                "head.modules_to_save.default.weight", "head.modules_to_save.default.bias"), trainable(adapters));
    }

    private static AdaLoraConfig adaLora(boolean inferenceMode) {
        return AdaLoraConfig.adaLoraBuilder().initR(4).targetR(2).totalStep(10).targetModules(List.of("fc1"))
                .inferenceMode(inferenceMode).build();
    }

    /** AdaLoraModel._check_new_adapter_config. */
    @Test
    void adaLoraAllowsOneTrainableAdapter() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(adaLora(false), mlp, "a");
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> Peft.injectAdapter(adaLora(false), mlp, "b"));
        assertTrue(e.getMessage().contains("AdaLoraModel supports only 1 trainable adapter. When using multiple "
                + "adapters, set inference_mode to True for all adapters except the one you want to train."),
                e.getMessage());
        assertEquals(List.of("a"), adapters.adapterNames(), "nothing injected");
        Peft.injectAdapter(adaLora(true), mlp, "c");
        assertEquals(List.of("a", "c"), adapters.adapterNames());
    }

    /** AdaLoraModel.__init__: an inference_mode adapter gets no RankAllocator, so no rank is ever masked. */
    @Test
    void anInferenceModeAdaLoraAdapterKeepsItsRanks() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(adaLora(true), mlp);
        SvdLinear fc1 = (SvdLinear) adapters.tunedModules().get("fc1").adapter("default");
        float[] e = fc1.loraE().getArray().add(1f).toFloatArray();
        io.peft4j.layer.WeightUpdate.copyInto(fc1.loraE().getArray(), fc1.loraE().getArray().add(1f));
        for (int step = 0; step < 12; step++) {
            AdaLoraTraining.beforeStep(mlp);
            AdaLoraTraining.afterStep(mlp);
        }
        // old code: allocation ran with zero importance and masked ranks down to target_r
        GoldenCase.assertClose(e, fc1.loraE().getArray().toFloatArray(), 0, "lora_E untouched");
        assertTrue(((AdaLoraConfig) adapters.config("default")).rankMasks().isEmpty(), "no rank_pattern");
    }
}

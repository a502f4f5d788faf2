package io.peft4j.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.LoraConfig;
import io.peft4j.state.StateDictLoadResult;
import io.peft4j.testmodels.Mlp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code modules_to_save} as PEFT 0.20's {@code _set_trainable} and {@code ModulesToSaveWrapper} handle it: a suffix
 * match without a dot boundary, keys renamed by the wrapper (never by substring), one copy per module active.
 */
class ModulesToSaveTest extends DjlTestCase {

    private static LoraConfig.Builder lora(List<String> targets) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets);
    }

    /** _set_trainable: {@code key.endswith(target_key)} takes pre_classifier for "classifier" (golden h2). */
    @Test
    void aSuffixWithoutDotBoundaryWrapsBothModules() {
        Mlp model = Mlp.classifier(16, 32, 32, 4);
        model.initialize(manager, DataType.FLOAT32, model.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1")).modulesToSave(List.of("classifier"))
                .build(), model);
        // old code: only 'classifier' (dot boundary); pre_classifier.weight was an unexpected key on load
        assertEquals(List.of("pre_classifier", "classifier"), new ArrayList<>(adapters.savedModules().keySet()));
        assertEquals(List.of("fc1.lora_A.weight", "fc1.lora_B.weight", "pre_classifier.weight",
                "pre_classifier.bias", "classifier.weight", "classifier.bias"),
                new ArrayList<>(Peft.getStateDict(model).keySet()));
    }

    /** ModulesToSaveWrapper.adapter_state_dict(_load_map): the module's own keys, however short its name. */
    @Test
    void aShortModuleNameDoesNotRenameOtherKeys() {
        Mlp model = new Mlp();
        model.initialize(manager, DataType.FLOAT32, model.sampleInputShape());
        Peft.injectAdapter(lora(List.of("fc1")).modulesToSave(List.of("fc2")).build(), model);
        Map<String, NDArray> state = Peft.getStateDict(model);
        assertEquals(List.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.weight", "fc2.bias"),
                new ArrayList<>(state.keySet()));
        // old code: 'fc' in fc1.lora_A.weight was renamed by substring on load
        Map<String, NDArray> shifted = new java.util.LinkedHashMap<>();
        state.forEach((k, v) -> shifted.put(k, v.add(1f)));
        StateDictLoadResult r = Peft.setStateDict(model, shifted);
        assertTrue(r.isComplete(), r.toString());
        Peft.getStateDict(model).forEach((k, v) -> GoldenCase.assertClose(shifted.get(k).toFloatArray(),
                v.toFloatArray(), 0, k));
    }

    /** ModulesToSaveWrapper.check_set_adapter: two active adapters with a copy of the same module raise. */
    @Test
    void twoActiveAdaptersWithACopyOfTheSameModuleAreRefused() {
        Mlp model = new Mlp();
        model.initialize(manager, DataType.FLOAT32, model.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(lora(List.of("fc1")).modulesToSave(List.of("head")).build(),
                model, "a");
        Peft.injectAdapter(lora(List.of("fc2")).modulesToSave(List.of("head")).build(), model, "b");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> adapters.setActiveAdapters(List.of("a", "b")));
        assertTrue(e.getMessage().startsWith("Only one adapter can be set at a time for modules_to_save module "
                + "'head', got 2"), e.getMessage());
        assertEquals(List.of("b"), adapters.activeAdapters(), "nothing changed");
    }

    /** ModulesToSaveWrapper.check_module: a module matched by modules_to_save that carries adapters is refused. */
    @Test
    void aModulesToSaveEntryMatchingAnAdaptedModuleIsRefused() {
        Mlp model = Mlp.classifier(16, 32, 32, 4);
        model.initialize(manager, DataType.FLOAT32, model.sampleInputShape());
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(
                lora(List.of("pre_classifier")).modulesToSave(List.of("classifier")).build(), model));
        assertTrue(e.getMessage().startsWith("modules_to_save cannot be applied to modules of type LORA layer: "
                + "module 'pre_classifier'"), e.getMessage());
        assertTrue(Peft.adapters(model).map(m -> m.tunedModules().isEmpty()).orElse(true), "nothing injected");
    }

    /** _set_trainable: an entry naming a part of an adapter layer (here the adapter's name) is refused. */
    @Test
    void aModulesToSaveEntryMatchingTheAdapterNameIsRefused() {
        Mlp model = new Mlp();
        model.initialize(manager, DataType.FLOAT32, model.sampleInputShape());
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(
                lora(List.of("fc1")).modulesToSave(List.of("default")).build(), model));
        assertTrue(e.getMessage().contains("matches 'fc1.lora_A.default'"), e.getMessage());
    }
}

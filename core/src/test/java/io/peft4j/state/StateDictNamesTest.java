package io.peft4j.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.ia3.IA3Config;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraBias;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Adapter names in state dicts through the Java API, as PEFT 0.20's {@code get_peft_model_state_dict} /
 * {@code set_peft_model_state_dict} name them (expected keys are those of golden cases h5, h6 and h7, and what PEFT's
 * rules give for the bias case).
 */
class StateDictNamesTest extends DjlTestCase {

    private Mlp model() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        return mlp;
    }

    private static LoraConfig lora(List<String> targets) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets).initLoraWeights(InitLoraWeights.FALSE)
                .build();
    }

    private static List<String> keys(Map<String, ?> map) {
        return new ArrayList<>(map.keySet());
    }

    @Test
    void anAdapterNamedLoraKeepsTheLoraPrefix() {
        Mlp mlp = model();
        Peft.injectAdapter(lora(List.of("fc1", "fc2")), mlp, "lora");
        // PEFT: fc1.lora_A.weight ...; the substring rule saved fc1_A.weight
        assertEquals(List.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight"),
                keys(Peft.getStateDict(mlp, "lora")));
        StateDictLoadResult r = Peft.setStateDict(mlp, Peft.getStateDict(mlp, "lora"), "lora");
        assertEquals(List.of(), r.unexpectedKeys());
        assertEquals(List.of(), r.missingAdapterKeys());
    }

    @Test
    void anAdapterWhoseNameIsAPrefixOfAnothersGetsOnlyItsOwnKeys() {
        Mlp mlp = model();
        Peft.injectAdapter(lora(List.of("fc1", "fc2")), mlp, "de");
        Peft.injectAdapter(lora(List.of("fc2", "head")), mlp, "default");
        assertEquals(List.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight"),
                keys(Peft.getStateDict(mlp, "de")));
        assertEquals(List.of("fc2.lora_A.weight", "fc2.lora_B.weight", "head.lora_A.weight", "head.lora_B.weight"),
                keys(Peft.getStateDict(mlp, "default")));
        // de's tensors go into de's parameters, not default's
        Map<String, NDArray> deState = new LinkedHashMap<>();
        Peft.getStateDict(mlp, "de").forEach((k, v) -> deState.put(k, v.add(1f)));
        StateDictLoadResult r = Peft.setStateDict(mlp, deState, "de");
        assertEquals(List.of(), r.unexpectedKeys());
        assertEquals(List.of(), r.missingAdapterKeys());
        Map<String, Parameter> named = PeftStateDicts.namedParameters(Peft.adapters(mlp).orElseThrow());
        assertArrayClose(deState.get("fc2.lora_A.weight"), named.get("fc2.lora_A.de.weight").getArray());
    }

    @Test
    void aSecondIa3AdapterDoesNotLeakIntoTheFirstsStateDict() {
        Mlp mlp = model();
        Peft.injectAdapter(IA3Config.builder().targetModules(List.of("fc1", "fc2"))
                .feedforwardModules(List.of("fc1")).build(), mlp, "default");
        Peft.injectAdapter(IA3Config.builder().targetModules(List.of("fc1", "fc2"))
                .feedforwardModules(List.of("fc1")).build(), mlp, "other");
        // the substring rule gave default's dict an extra 'fc2.ia3_l.other'
        assertEquals(List.of("fc1.ia3_l", "fc2.ia3_l"), keys(Peft.getStateDict(mlp, "default")));
        assertEquals(List.of("fc1.ia3_l", "fc2.ia3_l"), keys(Peft.getStateDict(mlp, "other")));
    }

    @Test
    void biasAllDoesNotTakeAnotherAdaptersModulesToSave() {
        Mlp mlp = model();
        Peft.injectAdapter(LoraConfig.builder().r(4).targetModules(List.of("fc1")).modulesToSave(List.of("head"))
                .build(), mlp, "other");
        Peft.injectAdapter(LoraConfig.builder().r(4).targetModules(List.of("fc2")).bias(LoraBias.ALL).build(), mlp,
                "default");
        List<String> keys = keys(Peft.getStateDict(mlp, "default"));
        // PEFT: every 'bias' key after other's are dropped; head's original_module bias is not other's
        assertEquals(List.of("fc1.base_layer.bias", "fc2.base_layer.bias", "fc2.lora_A.weight", "fc2.lora_B.weight",
                "head.original_module.bias"), keys);
        assertTrue(keys.stream().noneMatch(k -> k.contains("other")), keys.toString());
    }

    private static void assertArrayClose(NDArray expected, NDArray actual) {
        assertTrue(expected.sub(actual).abs().max().getFloat() == 0f, "loaded values");
    }
}

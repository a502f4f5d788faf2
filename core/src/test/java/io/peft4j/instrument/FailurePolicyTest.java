package io.peft4j.instrument;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import io.peft4j.Peft;
import io.peft4j.adalora.AdaLoraConfig;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import io.peft4j.log.PeftLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The failure policy of the hooks when the library is used directly (no agent): an adapter's error reaches the
 * caller as PEFT's would ({@code FAIL}, the default), or, with {@code WARN} (the agent's {@code onError=warn}), the
 * base result is served, counted per module and logged once per module with its cause.
 */
class FailurePolicyTest extends DjlTestCase {

    @AfterEach
    void restorePolicy() {
        AdviceErrors.setPolicy(AdviceErrors.Policy.FAIL);
        PeftLog.captureForTests(null);
        AdviceErrors.reset();
    }

    private Mlp mlp(Model model) throws Exception {
        Mlp mlp = new Mlp();
        model.setBlock(mlp);
        TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                model.getNDManager());
        return mlp;
    }

    private float[] forward(Mlp mlp, NDArray x) {
        return mlp.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    /** Injects a LoRA whose delta is not zero on fc1 and breaks its lora_A tensor (a released native array). */
    private static void injectBrokenLora(Mlp mlp) {
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1"))
                .initLoraWeights(InitLoraWeights.FALSE).build();
        Peft.injectAdapter(config, mlp);
        Peft.tunedModules(mlp).get("fc1").adapter("default").parameters().get("lora_A.default.weight").getArray()
                .close();
    }

    @Test
    void anAdapterErrorInForwardReachesTheCallerNamingModuleAndAdapter() throws Exception {
        assertEquals(AdviceErrors.Policy.FAIL, AdviceErrors.policy(), "FAIL is the default without the agent");
        try (Model model = Model.newInstance("fail")) {
            Mlp mlp = mlp(model);
            injectBrokenLora(mlp);
            NDArray x = manager.randomNormal(new Shape(3, 16));
            AdapterFailure failure = assertThrows(AdapterFailure.class, () -> forward(mlp, x));
            assertTrue(failure.getMessage().startsWith("adapter [default] of module 'fc1' failed while adding its "
                    + "output: "), failure.getMessage());
            assertInstanceOf(IllegalStateException.class, failure.getCause());
            assertThrows(AdapterFailure.class, () -> forward(mlp, x));
            assertEquals(2, AdviceErrors.byModule().get("fc1").count(), "each failed request is counted");
            assertTrue(AdviceErrors.byModule().get("fc1").lastError().startsWith("adding its output: "));
            assertEquals(0, AdviceErrors.count(), "nothing was swallowed");
        }
    }

    @Test
    void warnServesTheBaseResultCountsAndLogsOncePerModule() throws Exception {
        List<String> log = new ArrayList<>();
        PeftLog.captureForTests(log::add);
        try (Model model = Model.newInstance("warn")) {
            Mlp mlp = mlp(model);
            NDArray x = manager.randomNormal(new Shape(3, 16));
            float[] base = forward(mlp, x);
            injectBrokenLora(mlp);
            AdviceErrors.setPolicy(AdviceErrors.Policy.WARN);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(base, forward(mlp, x), 0f, "the base model's result is served");
            }
            assertEquals(3, AdviceErrors.byModule().get("fc1").count());
            assertEquals(3, AdviceErrors.count(), "served base results are counted as suppressed");
            List<String> errors = log.stream().filter(l -> l.contains("of module 'fc1' failed")).toList();
            assertEquals(1, errors.size(), "logged once per module: " + log);
            assertTrue(errors.get(0).contains("onError=warn") && errors.get(0).contains("IllegalStateException"),
                    errors.get(0));
        }
    }

    @Test
    void anAdaLoraTrainingHookErrorReachesTheCaller() throws Exception {
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().initR(6).targetR(2).tinit(5).tfinal(5).totalStep(40)
                .deltaT(1).loraAlpha(8).orthRegWeight(0.5).targetModules(List.of("fc1", "fc2")).build();
        try (Model model = Model.newInstance("adalora")) {
            Mlp mlp = mlp(model);
            Peft.injectAdapter(config, mlp);
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(new GcSafeL2Loss()))) {
                trainer.initialize(new Shape(8, 16));
                NDArray x = trainer.getManager().randomNormal(new Shape(8, 16));
                NDArray y = x.get(":, 0:4");
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    NDArray loss = trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x)));
                    Peft.tunedModules(mlp).get("fc2").adapter("default").parameters().get("lora_A.default")
                            .getArray().close();
                    AdapterFailure failure = assertThrows(AdapterFailure.class, () -> gc.backward(loss));
                    assertTrue(failure.getMessage().startsWith("the ADALORA training hook failed while adding its "
                            + "regularisation to the loss: java.lang.IllegalStateException"), failure.getMessage());
                }
            }
        }
        assertEquals(1, AdviceErrors.byModule().get("(training)").count());
        assertEquals(0, AdviceErrors.count(), "nothing was swallowed");
    }
}

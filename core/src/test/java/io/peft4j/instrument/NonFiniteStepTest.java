package io.peft4j.instrument;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A training step that makes an adapter parameter non-finite stops training naming module, parameter and step
 * ({@link NonFiniteGuard.Policy#FAIL}, the default), or is undone ({@link NonFiniteGuard.Policy#REVERT}).
 */
class NonFiniteStepTest extends DjlTestCase {

    @AfterEach
    void defaultPolicy() {
        NonFiniteGuard.setPolicy(NonFiniteGuard.Policy.FAIL);
    }

    @Test
    void aNonFiniteStepStopsTrainingNamingModuleParameterAndStep() throws Exception {
        Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build();
        try (Model model = adapted(); Trainer trainer = model.newTrainer(config(adam))) {
            trainer.initialize(new Shape(4, 16));
            step(trainer, false);
            step(trainer, false);
            NonFiniteAdapterException e = assertThrows(NonFiniteAdapterException.class, () -> step(trainer, true));
            assertEquals("training step 3 made adapter parameter 'lora_A.default.weight' of module 'fc1' non-finite"
                    + " (NaN or Inf); training stopped (set onNonFinite=revert, or NonFiniteGuard.setPolicy(REVERT),"
                    + " to undo such steps instead)", e.getMessage());
            assertEquals(List.of("fc1", "lora_A.default.weight", 3L), List.of(e.module(), e.parameter(), e.step()));
        }
    }

    @Test
    void revertUndoesTheStepAndTrainingGoesOn() throws Exception {
        NonFiniteGuard.setPolicy(NonFiniteGuard.Policy.REVERT);
        Optimizer sgd = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build();
        try (Model model = adapted(); Trainer trainer = model.newTrainer(config(sgd))) {
            trainer.initialize(new Shape(4, 16));
            step(trainer, false);
            List<float[]> before = adapterValues(model);
            step(trainer, true);
            List<float[]> after = adapterValues(model);
            for (int i = 0; i < before.size(); i++) {
                assertArrayEquals(before.get(i), after.get(i), 0f, "the non-finite step was undone exactly");
            }
            assertEquals(1, NonFiniteGuard.revertedSteps(model.getBlock()));
            step(trainer, false);
            assertFalse(java.util.Arrays.equals(before.get(0), adapterValues(model).get(0)),
                    "the next finite step trains");
        }
    }

    @Test
    void revertGivesUpAfterConsecutiveNonFiniteSteps() throws Exception {
        NonFiniteGuard.setPolicy(NonFiniteGuard.Policy.REVERT);
        Optimizer sgd = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build();
        try (Model model = adapted(); Trainer trainer = model.newTrainer(config(sgd))) {
            trainer.initialize(new Shape(4, 16));
            step(trainer, true);
            step(trainer, true);
            NonFiniteAdapterException e = assertThrows(NonFiniteAdapterException.class, () -> step(trainer, true));
            assertEquals(3, e.step());
        }
    }

    private Model adapted() throws Exception {
        Model model = Model.newInstance("non-finite");
        Mlp mlp = new Mlp();
        model.setBlock(mlp);
        TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                model.getNDManager());
        Peft.injectAdapter(LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1", "fc2"))
                .initLoraWeights(InitLoraWeights.FALSE).build(), mlp);
        return model;
    }

    private static DefaultTrainingConfig config(Optimizer optimizer) {
        return new DefaultTrainingConfig(new GcSafeL2Loss()).optOptimizer(optimizer);
    }

    /** One training step; with {@code poisoned}, one input value is NaN, so every gradient is. */
    private static void step(Trainer trainer, boolean poisoned) {
        NDArray x = trainer.getManager().ones(new Shape(4, 16)).mul(0.1f);
        if (poisoned) {
            x.set(new ai.djl.ndarray.index.NDIndex("0, 0"), Float.NaN);
        }
        NDArray y = trainer.getManager().zeros(new Shape(4, 4));
        try (GradientCollector gc = trainer.newGradientCollector()) {
            gc.backward(trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x))));
        }
        trainer.step();
    }

    private static List<float[]> adapterValues(Model model) {
        List<float[]> values = new ArrayList<>();
        Peft.getStateDict(model.getBlock()).values().forEach(a -> values.add(a.toFloatArray()));
        return values;
    }
}

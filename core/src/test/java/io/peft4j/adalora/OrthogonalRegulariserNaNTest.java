package io.peft4j.adalora;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.testmodels.Mlp;
import io.peft4j.testmodels.TorchWeights;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AdaLoRA NaN seen once in CI, made deterministic: when a factor is exactly orthonormal ({@code A A^T = I}), the
 * orthogonal regulariser {@code ||A A^T - I||_F} is 0, and {@code sqrt(sum(x^2))}'s gradient there is
 * {@code 0 * (1 / 0)} = NaN, which Adam spreads to every value of A at the next step. PEFT uses
 * {@code torch.norm(..., p="fro")}, whose backward is 0 at 0; so does peft4j now.
 */
class OrthogonalRegulariserNaNTest extends DjlTestCase {

    @Test
    void anExactlyOrthonormalFactorTrainsWithoutNaN() throws Exception {
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().initR(4).targetR(2).tinit(5).tfinal(5).totalStep(40)
                .deltaT(1).loraAlpha(8).orthRegWeight(0.5).targetModules(List.of("fc1")).build();
        try (Model model = Model.newInstance("adalora-orthonormal")) {
            Mlp mlp = new Mlp();
            model.setBlock(mlp);
            TorchWeights.load(mlp, GoldenCase.root().resolve("b1_lora_mlp/base_model.safetensors"),
                    model.getNDManager());
            ModelAdapters adapters = Peft.injectAdapter(config, mlp);
            SvdLinear fc1 = (SvdLinear) adapters.tunedModules().get("fc1").adapter("default");
            DefaultTrainingConfig tc = new DefaultTrainingConfig(new GcSafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
            try (Trainer trainer = model.newTrainer(tc)) {
                trainer.initialize(new Shape(8, 16));
                // A = [I_4 | 0]: A A^T is the identity exactly, the regulariser's A term is exactly 0
                NDArray a = fc1.loraA().getArray();
                a.set(new NDIndex(":"), 0f);
                for (int i = 0; i < 4; i++) {
                    a.set(new NDIndex(i + ", " + i), 1f);
                }
                assertEquals(0f, a.matMul(a.transpose()).sub(manager.eye(4)).abs().max().getFloat(),
                        "A A^T - I is exactly zero");
                NDArray x = trainer.getManager().randomNormal(new Shape(8, 16));
                NDArray y = trainer.getManager().randomNormal(new Shape(8, 4));
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    gc.backward(trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x))));
                }
                float[] grad = a.getGradient().toFloatArray();
                for (float g : grad) {
                    assertTrue(Float.isFinite(g), "gradient of fc1.lora_A at an orthonormal A: " + g);
                }
                // E = 0 at the start: the task loss gives A no gradient; the regulariser's is 0 at its minimum
                assertArrayEquals(new float[grad.length], grad, 0f, "as torch.norm's backward at 0");
                trainer.step();
                for (float v : fc1.loraA().getArray().toFloatArray()) {
                    assertTrue(Float.isFinite(v), "fc1.lora_A after one Adam step: " + v);
                }
            }
        }
    }
}

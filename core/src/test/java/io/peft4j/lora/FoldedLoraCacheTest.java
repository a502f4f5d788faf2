package io.peft4j.lora;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.layer.WeightChanges;
import io.peft4j.layer.WeightUpdate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA's inference forward folds the scaling into a cached {@code scaling * B} (one op less per call), or, where the
 * dense delta {@code scaling * B @ A} is no more arithmetic than the factors, that delta (one product per call). The
 * cache must follow every change of A, B or the scaling (an optimizer step, a write as hot-swap and state loading
 * make it, a new scaling), and must never stand in for the factors while gradients may be recorded. Rank 4 on
 * {@code Linear(16 -> 8)} folds B (8 * 16 > 4 * 24); rank 8 folds the delta (8 * 16 <= 8 * 24).
 */
class FoldedLoraCacheTest extends DjlTestCase {

    private static final float SCALING = 2f;

    private Model model;
    private SequentialBlock block;
    private LoraLinear lora;
    private NDArray x;

    private void build(int rank) {
        model = Model.newInstance("one-linear");
        block = new SequentialBlock().add(Linear.builder().setUnits(8).build());
        model.setBlock(block);
        block.initialize(model.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(4, 16));
        LoraConfig config = LoraConfig.builder().r(rank).loraAlpha(2 * rank).targetModules(List.of("0"))
                .initLoraWeights(InitLoraWeights.FALSE).build();
        lora = (LoraLinear) Peft.injectAdapter(config, block).tunedModules().get("0").adapter("default");
        Engine.getInstance().setRandomSeed(11);
        x = manager.randomNormal(new Shape(4, 16));
    }

    /** The forward without gradients, as a Predictor runs it. */
    private float[] infer() {
        NDArray out = block.forward(new ParameterStore(manager, false), new NDList(x), false).head();
        assertFalse(out.hasGradient(), "inference records no graph");
        return out.toFloatArray();
    }

    /** {@code x W^T + b + scaling * (x A^T) B^T} from the arrays as they are now. */
    private float[] expected(double scaling) {
        Linear linear = (Linear) block.getChildren().valueAt(0);
        NDArray w = linear.getDirectParameters().get("weight").getArray();
        NDArray bias = linear.getDirectParameters().get("bias").getArray();
        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        return x.matMul(w.transpose()).add(bias)
                .add(x.matMul(a.transpose()).matMul(b.transpose()).mul((float) scaling)).toFloatArray();
    }

    private void trainOneStep() {
        DefaultTrainingConfig tc = new DefaultTrainingConfig(new GcSafeL2Loss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.1f)).build());
        try (Trainer trainer = model.newTrainer(tc)) {
            trainer.initialize(new Shape(4, 16));
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDArray loss = trainer.getLoss().evaluate(new NDList(x.get(":, 0:8")),
                        trainer.forward(new NDList(x)));
                gc.backward(loss);
            }
            assertFalse(WeightChanges.cacheable(), "nothing cached between the backward and the optimizer step");
            trainer.step();
        }
    }

    @ParameterizedTest(name = "r = {0}")
    @ValueSource(ints = {4, 8})
    void inferenceFollowsTrainingStepsWritesAndScalingChanges(int rank) {
        build(rank);
        try {
            trainOneStep(); // a Trainer step ends any training window an earlier test left open
            assertTrue(WeightChanges.cacheable());
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "first inference");
            assertNotNull(lora.cachedFolded(), "the inference forward cached the folded adapter");
            assertEquals(rank == 8, lora.foldedDense(), "dense delta exactly when it is no more arithmetic");
            assertEquals(rank == 8 ? new Shape(8, 16) : new Shape(8, rank), lora.cachedFolded().getShape());
            assertEquals(rank == 8, lora.cachedFused() != null, "the weight is fused exactly with the dense delta");
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "second inference, from the cache");

            float[] bBefore = lora.loraB().getArray().toFloatArray();
            trainOneStep();
            assertFalse(Arrays.equals(bBefore, lora.loraB().getArray().toFloatArray()), "the step moved B");
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "after a training step");

            // what hot-swap and set_peft_model_state_dict do to an existing B: overwrite its values in place
            NDArray b = lora.loraB().getArray();
            try (NDArray values = manager.randomUniform(-1f, 1f, b.getShape())) {
                WeightUpdate.copyInto(b, values);
            }
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "after B was overwritten in place");

            // A too: an in-place write of A must reach the dense delta
            NDArray a = lora.loraA().getArray();
            try (NDArray values = manager.randomUniform(-1f, 1f, a.getShape())) {
                WeightUpdate.copyInto(a, values);
            }
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "after A was overwritten in place");

            lora.setScaling(0.5);
            GoldenCase.assertClose(expected(0.5), infer(), 1e-5, "after a new scaling");

            // the application loads other parameters into the base Linear (new arrays)
            NDArray before = baseWeight().getArray();
            Linear source = Linear.builder().setUnits(8).build();
            source.initialize(manager, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(4, 16));
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
                source.saveParameters(out);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            try (java.io.DataInputStream in = new java.io.DataInputStream(
                    new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
                block.getChildren().valueAt(0).loadParameters(model.getNDManager(), in);
            } catch (java.io.IOException | ai.djl.MalformedModelException e) {
                throw new IllegalStateException(e);
            }
            assertFalse(before == baseWeight().getArray(), "loading made new arrays");
            GoldenCase.assertClose(expected(0.5), infer(), 1e-5, "after other base parameters were loaded");
        } finally {
            model.close();
        }
    }

    private Parameter baseWeight() {
        return block.getChildren().valueAt(0).getDirectParameters().get("weight");
    }

    @ParameterizedTest(name = "r = {0}")
    @ValueSource(ints = {4, 8})
    void theFusedWeightNeverChangesTheBaseWeightNorLeaksToOtherFetches(int rank) {
        build(rank);
        try {
            trainOneStep();
            Parameter weight = baseWeight();
            float[] w = weight.getArray().toFloatArray();
            ParameterStore store = new ParameterStore(manager, false);
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "inference");
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "inference again");
            assertTrue(Arrays.equals(w, weight.getArray().toFloatArray()), "the base weight is never written");
            assertTrue(store.getValue(weight, x.getDevice(), false) == weight.getArray(),
                    "a fetch outside the Linear's forward gets the base weight");
            // a forward that fails inside the Linear, before it fetched its weight (two inputs for one)
            assertThrows(IndexOutOfBoundsException.class,
                    () -> block.forward(store, new NDList(x, x), false));
            assertTrue(store.getValue(weight, x.getDevice(), false) == weight.getArray(),
                    "an offer the failed forward left is gone once its pass ended");
            GoldenCase.assertClose(expected(SCALING), infer(), 1e-5, "inference after the failed forward");
        } finally {
            model.close();
        }
    }

    @ParameterizedTest(name = "r = {0}")
    @ValueSource(ints = {4, 8})
    void twoActiveAdaptersAreNeverFusedAndBothCount(int rank) {
        build(rank);
        try {
            trainOneStep();
            LoraConfig config = LoraConfig.builder().r(rank).loraAlpha(2 * rank).targetModules(List.of("0"))
                    .initLoraWeights(InitLoraWeights.FALSE).build();
            var adapters = Peft.injectAdapter(config, block, "other");
            LoraLinear other = (LoraLinear) adapters.tunedModules().get("0").adapter("other");
            adapters.setActiveAdapters(List.of("default", "other"));
            float[] one = expected(SCALING);
            NDArray a2 = other.loraA().getArray();
            NDArray b2 = other.loraB().getArray();
            float[] both = x.matMul(a2.transpose()).matMul(b2.transpose()).mul(SCALING).toFloatArray();
            for (int i = 0; i < both.length; i++) {
                both[i] += one[i];
            }
            GoldenCase.assertClose(both, infer(), 1e-5, "both adapters");
            assertTrue(lora.cachedFused() == null && other.cachedFused() == null, "no fused weight for two");
        } finally {
            model.close();
        }
    }

    @ParameterizedTest(name = "r = {0}")
    @ValueSource(ints = {4, 8})
    void gradientsReachBEvenThroughAnInferenceForwardUnderACollector(int rank) {
        build(rank);
        try {
            trainOneStep();
            infer(); // the cache exists now
            Parameter loraB = lora.loraB();
            float[] gradient;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                assertFalse(WeightChanges.cacheable(), "no cache while a collector is open");
                NDArray out = block.forward(new ParameterStore(manager, false), new NDList(x), false).head();
                gc.backward(out.sum());
                gradient = loraB.getArray().getGradient().toFloatArray();
            }
            // d sum(y) / dB = scaling * 1^T (x A^T), the same for every output row of B
            float[] h = x.matMul(lora.loraA().getArray().transpose()).sum(new int[] {0}).mul(SCALING)
                    .toFloatArray();
            float[] want = new float[gradient.length];
            for (int o = 0; o < 8; o++) {
                System.arraycopy(h, 0, want, o * h.length, h.length);
            }
            GoldenCase.assertClose(want, gradient, 1e-4, "B's gradient (not a cached copy's)");
            assertFalse(WeightChanges.cacheable(), "no cache until an optimizer step follows the gradients");
            trainOneStep();
            assertTrue(WeightChanges.cacheable(), "a Trainer step ends the training window");
        } finally {
            model.close();
        }
    }
}

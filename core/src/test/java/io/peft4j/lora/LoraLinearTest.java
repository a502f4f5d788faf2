package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA on Linear: PEFT's initialisations, the forward formula, dropout only while training, merge. */
class LoraLinearTest {

    private NDManager manager;
    private Linear linear;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        linear = Linear.builder().setUnits(64).build();
        linear.initialize(manager, DataType.FLOAT32, new Shape(5, 256));
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private Parameter weight() {
        return linear.getDirectParameters().get("weight");
    }

    @Test
    void defaultInitIsKaimingUniformAAndZeroB() {
        LoraLinear lora = new LoraLinear("default", weight(), 8, 2.0, 0.0, InitLoraWeights.TRUE);
        float[] a = lora.parameters().get("lora_A.default.weight").getArray().toFloatArray();
        float[] b = lora.parameters().get("lora_B.default.weight").getArray().toFloatArray();
        assertEquals(8 * 256, a.length);
        float bound = (float) (1 / Math.sqrt(256));
        float max = 0;
        double sumSq = 0;
        for (float v : a) {
            max = Math.max(max, Math.abs(v));
            sumSq += v * v;
        }
        assertTrue(max <= bound, "A within +-1/sqrt(in)");
        assertTrue(max > bound * 0.9, "A spans the uniform range");
        double std = Math.sqrt(sumSq / a.length);
        assertEquals(bound / Math.sqrt(3), std, bound * 0.05, "std of U(-b, b) is b/sqrt(3)");
        assertArrayEquals(new float[64 * 8], b, 0f, "B starts at zero");
        assertEquals(new Shape(64, 8), lora.parameters().get("lora_B.default.weight").getArray().getShape());
    }

    @Test
    void gaussianInitHasStdOneOverR() {
        LoraLinear lora = new LoraLinear("g", weight(), 4, 1.0, 0.0, InitLoraWeights.GAUSSIAN);
        float[] a = lora.parameters().get("lora_A.g.weight").getArray().toFloatArray();
        double sumSq = 0;
        for (float v : a) {
            sumSq += v * v;
        }
        assertEquals(0.25, Math.sqrt(sumSq / a.length), 0.02);
    }

    @Test
    void falseInitMakesANonIdentityAdapter() {
        LoraLinear lora = new LoraLinear("f", weight(), 4, 1.0, 0.0, InitLoraWeights.FALSE);
        float[] b = lora.parameters().get("lora_B.f.weight").getArray().toFloatArray();
        float bound = 0.5f;
        boolean nonZero = false;
        for (float v : b) {
            assertTrue(Math.abs(v) <= bound);
            nonZero |= v != 0f;
        }
        assertTrue(nonZero, "B is random (U(+-1/sqrt(r))) with init_lora_weights=false");
    }

    @Test
    void forwardAddsScaledLowRankDeltaAndDropoutOnlyWhileTraining() {
        LoraLinear lora = new LoraLinear("d", weight(), 8, 3.0, 0.5, InitLoraWeights.FALSE);
        NDArray x = manager.randomNormal(new Shape(5, 256));
        ParameterStore store = new ParameterStore(manager, false);
        NDArray base = linear.forward(store, new NDList(x), false).head();
        NDArray a = lora.parameters().get("lora_A.d.weight").getArray();
        NDArray b = lora.parameters().get("lora_B.d.weight").getArray();
        float[] expected = base.add(x.matMul(a.transpose()).matMul(b.transpose()).mul(3f)).toFloatArray();
        float[] eval = lora.afterForward(store, x, base.duplicate(), false).toFloatArray();
        assertArrayEquals(expected, eval, 1e-4f, "eval: no dropout");
        float[] train = lora.afterForward(store, x, base.duplicate(), true).toFloatArray();
        assertFalse(java.util.Arrays.equals(eval, train), "training applies dropout to the adapter input");
    }

    @Test
    void mergeThenUnmergeRestoresTheWeight() {
        LoraLinear lora = new LoraLinear("m", weight(), 8, 2.0, 0.0, InitLoraWeights.FALSE);
        float[] before = weight().getArray().toFloatArray();
        lora.merge(true);
        float[] merged = weight().getArray().toFloatArray();
        assertFalse(java.util.Arrays.equals(before, merged));
        lora.unmerge();
        assertArrayEquals(before, weight().getArray().toFloatArray(), 1e-6f);
    }

    @Test
    void safeMergeRefusesNonFiniteResults() {
        LoraLinear lora = new LoraLinear("n", weight(), 2, 1.0, 0.0, InitLoraWeights.FALSE);
        NDArray b = lora.parameters().get("lora_B.n.weight").getArray();
        float[] values = new float[64 * 2];
        values[0] = Float.NaN;
        b.set(values);
        float[] before = weight().getArray().toFloatArray();
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> lora.merge(true));
        assertTrue(e.getMessage().contains("NaN or Inf"), e.getMessage());
        assertArrayEquals(before, weight().getArray().toFloatArray(), 0f, "nothing merged");
    }
}

package io.peft4j.lora;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PiSSA, OLoRA and orthogonal initialisation against PEFT 0.20's formulas ({@code pissa_init}, {@code olora_init},
 * {@code orthogonal_init}).
 *
 * <p>Singular vectors and QR factors are unique only up to sign (and EJML's SVD signs are not LAPACK's), so the tests
 * check what does not depend on them: {@code W_res + s B A = W} (the adapted model starts as the base model), and for
 * PiSSA the identities that make {@code s B A} the rank-r truncated SVD of W — {@code A A^T = B^T B = diag(S_r / s)},
 * {@code W_res A^T = 0}, {@code B^T W_res = 0}, and the smallest kept singular value at least the largest left in
 * {@code W_res} (its spectral norm by power iteration here). OLoRA's QR follows LAPACK's signs, so its test checks
 * {@code R[0, 0] = -sign(W[0, 0]) ||W[:, 0]||} too.
 */
class DecomposedInitTest extends DjlTestCase {

    private static final String PATH = "b1_lora_mlp";

    private static LoraConfig.Builder lora(InitLoraWeights init) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1", "fc2")).initLoraWeights(init);
    }

    private static NDArray weight(Block model, String child) {
        for (Pair<String, Block> c : model.getChildren()) {
            if (c.getKey().endsWith(child)) {
                return c.getValue().getParameters().get("weight").getArray();
            }
        }
        throw new AssertionError("no child " + child);
    }

    private static LoraLinear adapter(ModelAdapters adapters, String module) {
        return (LoraLinear) adapters.tunedModules().get(module).adapter("default");
    }

    private static double maxAbs(NDArray x) {
        return x.abs().max().getFloat();
    }

    /** The spectral norm by power iteration on {@code x^T x}. */
    private static double spectralNorm(NDArray x) {
        NDArray v = x.getManager().ones(new Shape(x.getShape().get(1), 1));
        NDArray gram = x.transpose().matMul(x);
        for (int i = 0; i < 500; i++) {
            NDArray next = gram.matMul(v);
            v = next.div(next.norm());
        }
        return Math.sqrt(v.transpose().matMul(gram).matMul(v).getFloat());
    }

    @Test
    void pissaIsTheTruncatedSvdAndTheModelStartsUnchanged() throws Exception {
        Block model = GoldenCase.named(PATH).buildBaseModel(manager);
        NDArray x = manager.randomNormal(new Shape(5, 16));
        float[] base = GoldenCase.forward(model, x, manager);
        Map<String, NDArray> original = Map.of("fc1", weight(model, "fc1").duplicate(),
                "fc2", weight(model, "fc2").duplicate());
        ModelAdapters adapters = Peft.injectAdapter(lora(InitLoraWeights.PISSA).build(), model);
        GoldenCase.assertClose(base, GoldenCase.forward(model, x, manager), 1e-5, "W_res + s B A = W: output");
        for (String module : List.of("fc1", "fc2")) {
            LoraLinear lora = adapter(adapters, module);
            NDArray a = lora.loraA().getArray();
            NDArray b = lora.loraB().getArray();
            NDArray residual = weight(model, module);
            NDArray w = original.get(module);
            assertTrue(maxAbs(residual.add(b.matMul(a).mul(2f)).sub(w)) < 1e-6, module + ": W_res + s B A = W");
            NDArray aat = a.matMul(a.transpose());
            NDArray btb = b.transpose().matMul(b);
            NDArray diag = manager.eye(4).mul(aat);
            assertTrue(maxAbs(aat.sub(diag)) < 1e-5, module + ": rows of A orthogonal");
            assertTrue(maxAbs(btb.sub(diag)) < 1e-5, module + ": B^T B = A A^T = diag(S_r / s)");
            assertTrue(maxAbs(residual.matMul(a.transpose())) < 1e-5, module + ": W_res A^T = 0");
            assertTrue(maxAbs(b.transpose().matMul(residual)) < 1e-5, module + ": B^T W_res = 0");
            float[] kept = aat.mul(manager.eye(4)).sum(new int[] {1}).mul(2f).toFloatArray();
            for (int i = 1; i < 4; i++) {
                assertTrue(kept[i] <= kept[i - 1] + 1e-6, module + ": singular values in descending order");
            }
            assertTrue(kept[3] >= spectralNorm(residual) - 1e-5,
                    module + ": the r largest singular values were taken, " + kept[3] + " >= ||W_res||");
        }
        adapters.deleteAdapter("default");
        for (String module : List.of("fc1", "fc2")) {
            assertTrue(maxAbs(weight(model, module).sub(original.get(module))) < 1e-6,
                    module + ": removing the adapter restores W");
        }
    }

    @Test
    void pissaNiterIsRepeatableAndFindsAWellSeparatedSubspace() {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(20).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(3, 24));
        NDArray w = model.getChildren().valueAt(0).getParameters().get("weight").getArray();
        // W = U diag(10, 8, 6, 4, 0.5, 0.25, ...) V^T: the gap makes 4 subspace iterations converge to float precision.
        NDArray u = manager.randomNormal(new Shape(20, 20));
        NDArray v = manager.randomNormal(new Shape(24, 20));
        float[] s = new float[20];
        for (int i = 0; i < 20; i++) {
            s[i] = i < 4 ? 10 - 2 * i : (float) Math.pow(0.5, i - 3);
        }
        NDArray spectrum = qr(u).mul(manager.create(s)).matMul(qr(v).transpose());
        w.set(spectrum.toFloatArray());
        NDArray truncated = qr(u).get(":, 0:4").mul(manager.create(new float[] {10, 8, 6, 4}))
                .matMul(qr(v).get(":, 0:4").transpose());
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("0"))
                .initLoraWeights(InitLoraWeights.pissaNiter(4)).build();
        float[][] first = new float[2][];
        for (int run = 0; run < 2; run++) {
            w.set(spectrum.toFloatArray());
            Engine.getInstance().setRandomSeed(5);
            ModelAdapters adapters = Peft.injectAdapter(config, model);
            LoraLinear lora = adapter(adapters, "0");
            NDArray ba = lora.loraB().getArray().matMul(lora.loraA().getArray()).mul(2f);
            assertTrue(maxAbs(w.add(ba).sub(spectrum)) < 1e-6, "W_res + s B A = W");
            assertTrue(maxAbs(ba.sub(truncated)) < 1e-4,
                    "s B A is the rank-4 truncation: " + maxAbs(ba.sub(truncated)));
            if (run == 0) {
                first[0] = lora.loraA().getArray().toFloatArray();
                first[1] = lora.loraB().getArray().toFloatArray();
            } else {
                assertArrayEquals(first[0], lora.loraA().getArray().toFloatArray(), "same seed, same A");
                assertArrayEquals(first[1], lora.loraB().getArray().toFloatArray(), "same seed, same B");
            }
            adapters.deleteAdapter("default");
        }
    }

    /** Orthonormal columns of a random matrix (DJL has no QR: through peft4j's own). */
    private NDArray qr(NDArray x) {
        io.peft4j.linalg.DenseMatrix q = io.peft4j.linalg.HouseholderQr.q(io.peft4j.linalg.DenseMatrix.ofFloats(
                (int) x.getShape().get(0), (int) x.getShape().get(1), x.toFloatArray()));
        return manager.create(q.toFloats(), new Shape(q.rows(), q.cols()));
    }

    @Test
    void oloraTakesTheLeadingQrFactorsWithLapackSigns() throws Exception {
        Block model = GoldenCase.named(PATH).buildBaseModel(manager);
        NDArray x = manager.randomNormal(new Shape(5, 16));
        float[] base = GoldenCase.forward(model, x, manager);
        NDArray w = weight(model, "fc1").duplicate();
        ModelAdapters adapters = Peft.injectAdapter(lora(InitLoraWeights.OLORA).build(), model);
        GoldenCase.assertClose(base, GoldenCase.forward(model, x, manager), 1e-5, "W_res + s B A = W: output");
        LoraLinear lora = adapter(adapters, "fc1");
        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        assertTrue(maxAbs(b.transpose().matMul(b).sub(manager.eye(4))) < 1e-5, "B = Q[:, :r]: orthonormal");
        float[] r = a.toFloatArray();
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < i; j++) {
                assertEquals(0f, r[i * 16 + j], "A = R[:r]: upper triangular");
            }
        }
        NDArray column = w.get(":, 0");
        double expected = -Math.signum(w.getFloat(0, 0)) * column.norm().getFloat();
        assertEquals(expected, r[0], 1e-5, "R[0, 0] = -sign(W[0, 0]) ||W[:, 0]|| (LAPACK's dlarfg)");
        assertTrue(maxAbs(b.get(":, 0").mul(r[0]).sub(column)) < 1e-5, "Q[:, 0] R[0, 0] = W[:, 0]");
        assertTrue(maxAbs(weight(model, "fc1").add(b.matMul(a).mul(2f)).sub(w)) < 1e-6, "W_res + s B A = W");
    }

    @Test
    void orthogonalStartsAsANoOpAndLeavesWAlone() throws Exception {
        Block model = GoldenCase.named(PATH).buildBaseModel(manager);
        float[] w = weight(model, "fc1").toFloatArray();
        ModelAdapters adapters = Peft.injectAdapter(lora(InitLoraWeights.ORTHOGONAL).build(), model);
        assertArrayEquals(w, weight(model, "fc1").toFloatArray(), "the base weight is untouched");
        LoraLinear lora = adapter(adapters, "fc1");
        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        assertEquals(new Shape(4, 16), a.getShape());
        assertEquals(new Shape(32, 4), b.getShape());
        assertTrue(maxAbs(a) > 1e-3 && maxAbs(b) > 1e-3, "both factors non-zero");
        assertTrue(maxAbs(b.matMul(a)) < 1e-7, "B A = G2^T Q[1::2] Q[0::2]^T G1^T / 100 = 0: a no-op at start");
        adapters.deleteAdapter("default");

        PeftConfigException odd = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(
                lora(InitLoraWeights.ORTHOGONAL).r(3).build(), model));
        assertEquals("Orthogonal initialization requires the LoRA rank to be even, got 3 instead.", odd.getMessage());
    }

    @Test
    void convolutionsRefuseEmbeddingsKeepLorasInitAndFailuresRestoreW() throws Exception {
        SequentialBlock conv = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).build());
        conv.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 5, 5));
        LoraConfig pissaOnZero = LoraConfig.builder().r(2).targetModules(List.of("0"))
                .initLoraWeights(InitLoraWeights.PISSA).build();
        PeftConfigException c = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(pissaOnZero, conv));
        assertTrue(c.getMessage().startsWith("Unknown initialization init_lora_weights='pissa' (module '0'"),
                c.getMessage());

        Block dummy = GoldenCase.named("a_lora_dummy").buildBaseModel(manager);
        ModelAdapters emb = Peft.injectAdapter(LoraConfig.builder().r(2).targetModules(List.of("embedding"))
                .initLoraWeights(InitLoraWeights.OLORA).build(), dummy);
        LowRankAdapter e = (LowRankAdapter) emb.tunedModules().get("embedding").adapter("default");
        assertEquals(0f, maxAbs(e.loraA().getArray()), 0f, "embedding: lora_embedding_A = 0 as PEFT's reset");

        Block model = GoldenCase.named(PATH).buildBaseModel(manager);
        float[] fc1 = weight(model, "fc1").toFloatArray();
        LoraConfig tooLarge = lora(InitLoraWeights.PISSA).rankPattern(Map.of("fc2", 40)).build();
        PeftConfigException f = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(tooLarge, model));
        assertTrue(f.getMessage().startsWith("PiSSA takes r=40 components of a 32x32 weight"), f.getMessage());
        GoldenCase.assertClose(fc1, weight(model, "fc1").toFloatArray(), 1e-6,
                "fc1, initialised before fc2 failed, has its weight back");
        assertFalse(Peft.adapters(model).map(m -> m.adapterNames().contains("default")).orElse(false));
    }

    @Test
    void savedPissaAdapterReloadsOnTheOriginalBaseAndConvertsToPlainLora(@TempDir Path tmp) throws Exception {
        for (InitLoraWeights init : List.of(InitLoraWeights.PISSA, InitLoraWeights.OLORA)) {
            Block model = GoldenCase.named(PATH).buildBaseModel(manager);
            NDArray x = manager.randomNormal(new Shape(5, 16));
            ModelAdapters adapters = Peft.injectAdapter(lora(init).build(), model);
            for (String module : List.of("fc1", "fc2")) {
                NDArray a = adapter(adapters, module).loraA().getArray();
                a.set(a.add(manager.randomNormal(0f, 0.05f, a.getShape(), DataType.FLOAT32)).toFloatArray());
            }
            float[] trained = GoldenCase.forward(model, x, manager);

            Path saved = tmp.resolve(init + "-saved");
            Peft.saveAdapter(model, saved);
            Block reloaded = GoldenCase.named(PATH).buildBaseModel(manager);
            Peft.loadAdapter(reloaded, saved);
            GoldenCase.assertClose(trained, GoldenCase.forward(reloaded, x, manager), 1e-5,
                    init + ": loading recomputes the residual from the original base, as PEFT");

            Path converted = tmp.resolve(init + "-lora");
            Peft.saveAdapterAsLora(model, converted, "default");
            LoraConfig config = (LoraConfig) AdapterConfigs.read(converted);
            assertEquals(8, config.r(), "r doubled");
            assertEquals(16.0, config.loraAlpha(), "lora_alpha doubled: the scaling stays 2");
            assertEquals(InitLoraWeights.TRUE, config.initLoraWeights(), "a plain LoRA");
            SafetensorsFile file = SafetensorsFile.read(converted.resolve("adapter_model.safetensors"));
            assertArrayEquals(new long[] {8, 16}, file.get("fc1.lora_A.weight").shape());
            assertArrayEquals(new long[] {32, 8}, file.get("fc1.lora_B.weight").shape());
            Block original = GoldenCase.named(PATH).buildBaseModel(manager);
            float[] base = GoldenCase.forward(original, x, manager);
            Peft.loadAdapter(original, converted);
            GoldenCase.assertClose(trained, GoldenCase.forward(original, x, manager), 1e-5,
                    init + ": W + s (B A - B0 A0) = W_res + s B A");
            Peft.adapters(original).get().setAdaptersEnabled(false);
            GoldenCase.assertIdentical(base, GoldenCase.forward(original, x, manager), "its base is the original");
        }
    }

    @Test
    void conversionRefusesWhatPeftWouldDrop(@TempDir Path tmp) throws Exception {
        Block plain = GoldenCase.named(PATH).buildBaseModel(manager);
        Peft.injectAdapter(lora(InitLoraWeights.TRUE).build(), plain);
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
                () -> Peft.saveAdapterAsLora(plain, tmp, "default"));
        assertEquals("adapter 'default' was initialised with init_lora_weights=True, which leaves the base weights "
                + "unchanged: save it as it is", t.getMessage());

        Block dora = GoldenCase.named(PATH).buildBaseModel(manager);
        Peft.injectAdapter(lora(InitLoraWeights.PISSA).useDora(true).build(), dora);
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
                () -> Peft.saveAdapterAsLora(dora, tmp, "default"));
        assertTrue(d.getMessage().contains("would drop [fc1.lora_A.weight, fc1.lora_B.weight, "
                + "fc1.lora_magnitude_vector"), d.getMessage());
    }

    @Test
    void doraOnPissaStartsFromTheRowNormsOfW() throws Exception {
        Block model = GoldenCase.named(PATH).buildBaseModel(manager);
        NDArray w = weight(model, "fc1").duplicate();
        ModelAdapters adapters = Peft.injectAdapter(lora(InitLoraWeights.PISSA).useDora(true).build(), model);
        NDArray m = adapter(adapters, "fc1").parameters().get("lora_magnitude_vector.default.weight").getArray();
        GoldenCase.assertClose(w.square().sum(new int[] {1}).sqrt().toFloatArray(), m.toFloatArray(), 1e-5,
                "||W_res + s B A|| = ||W||");
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.peft4j.config.PeftConfigException;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.linalg.DenseMatrix;
import io.peft4j.linalg.HouseholderQr;
import io.peft4j.linalg.LinearOperator;
import io.peft4j.linalg.Svd;

/**
 * The initialisations of LoRA on a Linear that decompose the base weight or a random matrix, as PEFT 0.20's
 * {@code LoraLayer.pissa_init}, {@code olora_init} and {@code orthogonal_init}:
 * <ul>
 *   <li>PiSSA: {@code W = U S Vh} (full SVD, or {@code svd_lowrank(W, r, niter)} for {@code pissa_niter_N}),
 *       {@code A = diag(sqrt(S_r / s)) Vh_r}, {@code B = U_r diag(sqrt(S_r / s))};</li>
 *   <li>OLoRA: {@code W = Q R}, {@code A = R[:r]}, {@code B = Q[:, :r]};</li>
 *   <li>orthogonal: {@code Q} of a random {@code r x r} matrix, {@code A = (randn(in, r/2) Q[0::2]) ^T / 10},
 *       {@code B = randn(r/2, out)^T Q[1::2] / 10}; the base weight is left alone.</li>
 * </ul>
 * PiSSA and OLoRA then replace the base weight by the residual {@code W_res = W - s B A} (s the scaling), so the
 * adapted layer computes {@code W_res + s B A = W} and starts where the base model was. As in PEFT, the decomposition
 * runs in float32 or wider whatever the weight's type (float32, float16, bfloat16; others are refused), {@code W_res}
 * is computed in float32 from the float32 factors and cast back, and A, B take the weight's type.
 *
 * <p>Random draws ({@code pissa_niter_N}'s test matrix, orthogonal's three matrices) come from the engine's generator
 * ({@code Engine.setRandomSeed} makes them repeatable), in PEFT's order.
 */
final class DecomposedInit {

    private DecomposedInit() {}

    /**
     * The factors {@code [A, B]} ({@code [r, in]}, {@code [out, r]}, the weight's type) that {@code init} gives a
     * Linear
     * with weight {@code baseWeight}; for PiSSA and OLoRA, {@code baseWeight} is replaced by the residual in place.
     *
     * @throws PeftConfigException for a rank the decomposition cannot give, an odd rank (orthogonal), a scaling PiSSA
     *     cannot take the root of, or an unsupported weight type
     */
    static NDArray[] factors(Parameter baseWeight, int r, double scaling, InitLoraWeights init) {
        NDArray weight = baseWeight.getArray();
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        NDArray[] ab;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            switch (init.kind()) {
                case PISSA:
                    ab = pissa(weight, (int) out, (int) in, r, scaling, init);
                    break;
                case OLORA:
                    ab = olora(weight, (int) out, (int) in, r);
                    break;
                case ORTHOGONAL:
                    ab = orthogonal(weight.getManager(), (int) out, (int) in, r);
                    break;
                default:
                    throw new IllegalArgumentException("not a decomposed initialisation: " + init);
            }
            if (init.changesBaseWeights()) {
                NDArray w32 = weight.toType(DataType.FLOAT32, false);
                WeightUpdate.copyInto(weight, w32.sub(Scalars.mul(ab[1].matMul(ab[0]), scaling)));
            }
            ab[0] = ab[0].toType(weight.getDataType(), false);
            ab[1] = ab[1].toType(weight.getDataType(), false);
            NDScope.unregister(ab[0], ab[1]);
        }
        return ab;
    }

    private static NDArray[] pissa(NDArray weight, int out, int in, int r, double scaling, InitLoraWeights init) {
        checkFloat(weight, "Please initialize PiSSA under float32, float16, or bfloat16. Subsequently, re-quantize "
                + "the residual model to help minimize quantization errors.");
        checkRank(r, out, in, "PiSSA");
        if (!(scaling > 0)) {
            throw new PeftConfigException("init_lora_weights=" + init.pythonRepr() + " divides the singular values "
                    + "by the scaling and takes their square root: it needs lora_alpha / r > 0, got " + scaling);
        }
        NDArray w32 = weight.toType(DataType.FLOAT32, false);
        Svd.Result svd;
        if (init.randomized()) {
            NDManager manager = weight.getManager();
            int rows = Math.min(out, in);
            DenseMatrix gaussian = DenseMatrix.ofFloats(rows, r,
                    manager.randomNormal(new Shape(rows, r), DataType.FLOAT32).toFloatArray());
            svd = Svd.randomized(new WeightOperator(w32), r, Math.max(0, init.niter()), gaussian);
        } else {
            svd = Svd.leading(DenseMatrix.ofFloats(out, in, w32.toFloatArray()), r);
        }
        float[] a = new float[r * in];
        float[] b = new float[out * r];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.values()[k] / scaling);
            for (int j = 0; j < in; j++) {
                a[k * in + j] = (float) (root * svd.right().get(k, j));
            }
            for (int i = 0; i < out; i++) {
                b[i * r + k] = (float) (svd.left().get(i, k) * root);
            }
        }
        NDManager manager = weight.getManager();
        return new NDArray[] {manager.create(a, new Shape(r, in)), manager.create(b, new Shape(out, r))};
    }

    private static NDArray[] olora(NDArray weight, int out, int in, int r) {
        checkFloat(weight, "Unsupported data type for the base layer. Got " + torchName(weight.getDataType()) + ".");
        checkRank(r, out, in, "OLoRA");
        NDArray w32 = weight.toType(DataType.FLOAT32, false);
        HouseholderQr.Result qr = HouseholderQr.leading(DenseMatrix.ofFloats(out, in, w32.toFloatArray()), r);
        NDManager manager = weight.getManager();
        return new NDArray[] {manager.create(qr.r().toFloats(), new Shape(r, in)),
            manager.create(qr.q().toFloats(), new Shape(out, r))};
    }

    private static NDArray[] orthogonal(NDManager manager, int out, int in, int r) {
        if (r % 2 != 0) {
            throw new PeftConfigException(
                    "Orthogonal initialization requires the LoRA rank to be even, got " + r + " instead.");
        }
        DenseMatrix x = DenseMatrix.ofFloats(r, r, manager.randomNormal(new Shape(r, r), DataType.FLOAT32)
                .toFloatArray());
        NDArray q = manager.create(HouseholderQr.q(x).toFloats(), new Shape(r, r));
        NDArray qOdd = q.get(new NDIndex("0::2, :"));
        NDArray qEven = q.get(new NDIndex("1::2, :"));
        NDArray a = Scalars.div(manager.randomNormal(new Shape(in, r / 2), DataType.FLOAT32).matMul(qOdd).transpose(),
                10);
        NDArray b = Scalars.div(manager.randomNormal(new Shape(r / 2, out), DataType.FLOAT32).transpose().matMul(qEven),
                10);
        return new NDArray[] {a, b};
    }

    private static void checkFloat(NDArray weight, String peftMessage) {
        DataType t = weight.getDataType();
        if (t != DataType.FLOAT32 && t != DataType.FLOAT16 && t != DataType.BFLOAT16) {
            throw new PeftConfigException(peftMessage + " (base weight type " + t + ")");
        }
    }

    private static void checkRank(int r, int out, int in, String what) {
        if (r > Math.min(out, in)) {
            throw new PeftConfigException(what + " takes r=" + r + " components of a " + out + "x" + in
                    + " weight, which has at most " + Math.min(out, in) + "; lower r for this module (rank_pattern)");
        }
    }

    private static String torchName(DataType type) {
        return "torch." + type.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The base weight's products on DJL's engine (float32, as torch's {@code svd_lowrank} on a float32 weight). */
    private static final class WeightOperator implements LinearOperator {

        private final NDArray weight;

        WeightOperator(NDArray weight) {
            this.weight = weight;
        }

        @Override
        public int rows() {
            return (int) weight.getShape().get(0);
        }

        @Override
        public int cols() {
            return (int) weight.getShape().get(1);
        }

        @Override
        public DenseMatrix times(DenseMatrix x) {
            return product(weight, x);
        }

        @Override
        public DenseMatrix transposeTimes(DenseMatrix x) {
            return product(weight.transpose(), x);
        }

        private static DenseMatrix product(NDArray matrix, DenseMatrix x) {
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray y = matrix.matMul(matrix.getManager().create(x.toFloats(), new Shape(x.rows(), x.cols())));
                return DenseMatrix.ofFloats((int) y.getShape().get(0), x.cols(), y.toFloatArray());
            }
        }
    }
}

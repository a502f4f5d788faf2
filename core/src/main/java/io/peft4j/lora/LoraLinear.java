package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.FusedWeights;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightChanges;
import io.peft4j.layer.WeightUpdate;


/**
 * LoRA on a DJL {@link Linear}: {@code y = base(x) + B(A(dropout(x))) * scaling} with {@code A: [r, in]},
 * {@code B: [out, r]}, as PEFT's {@code lora.Linear}. Dropout applies only while training. Not final because
 * {@link DoraLinear} is LoRA on a Linear with a magnitude on top.
 */
public class LoraLinear extends LowRankFactors {

    private final float dropout;
    private final NDArray[] initialFactors;
    private volatile NDArray scaleTensor;
    private volatile Folded folded;
    private volatile Fused fused;
    private NDArray retired;
    private NDArray retiredFused;

    /**
     * Creates the adapter and its initialised weights next to the base weight.
     *
     * @param name the adapter name
     * @param baseWeight the Linear's weight parameter, {@code [out, in]}, initialised
     * @param r the rank
     * @param scaling {@code lora_alpha / r} or {@code lora_alpha / sqrt(r)}
     * @param dropout the dropout probability on the adapter's input
     * @param init PEFT's {@code init_lora_weights}; PiSSA and OLoRA replace the base weight by the residual
     *     {@code W - scaling * B @ A} (see {@link #close()} and {@link #initialFactors()})
     */
    public LoraLinear(String name, Parameter baseWeight, int r, double scaling, double dropout,
            InitLoraWeights init) {
        this(name, baseWeight, r, scaling, dropout, init, initFactors(baseWeight, r, scaling, init));
    }

    private LoraLinear(String name, Parameter baseWeight, int r, double scaling, double dropout,
            InitLoraWeights init, NDArray[] ab) {
        super(name, baseWeight, r, scaling, "lora_A", "lora_B", ".weight", ab[0], ab[1]);
        this.dropout = (float) dropout;
        this.initialFactors = init.changesBaseWeights() ? new NDArray[] {ab[0].duplicate(), ab[1].duplicate()}
                : null;
    }

    /** A and B as {@code init} makes them, drawn in PEFT's order (A first). */
    private static NDArray[] initFactors(Parameter baseWeight, int r, double scaling, InitLoraWeights init) {
        switch (init.kind()) {
            case PISSA:
            case OLORA:
            case ORTHOGONAL:
                return DecomposedInit.factors(baseWeight, r, scaling, init);
            default:
                return new NDArray[] {initA(baseWeight, r, init), initB(baseWeight, r, init)};
        }
    }

    private static NDArray initA(Parameter baseWeight, int r, InitLoraWeights init) {
        NDArray weight = baseWeight.getArray();
        Shape shape = new Shape(r, weight.getShape().get(1));
        return init.kind() == InitLoraWeights.Kind.GAUSSIAN
                ? weight.getManager().randomNormal(0f, 1f / r, shape, weight.getDataType())
                : kaimingUniform(weight.getManager(), shape, weight.getDataType());
    }

    private static NDArray initB(Parameter baseWeight, int r, InitLoraWeights init) {
        NDArray weight = baseWeight.getArray();
        Shape shape = new Shape(weight.getShape().get(0), r);
        return init.kind() == InitLoraWeights.Kind.FALSE
                ? kaimingUniform(weight.getManager(), shape, weight.getDataType())
                : weight.getManager().zeros(shape, weight.getDataType());
    }

    /** torch's {@code kaiming_uniform_(w, a=sqrt(5))}, the default init of {@code nn.Linear}: U(-1/sqrt(fan_in), +). */
    static NDArray kaimingUniform(NDManager manager, Shape shape, DataType dtype) {
        float bound = (float) (1.0 / Math.sqrt(shape.get(1)));
        return manager.randomUniform(-bound, bound, shape, dtype);
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(loraA(), device, training);
        NDArray b = store.getValue(loraB(), device, training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        Folded cache = training ? null : folded(a, b);
        NDArray result;
        if (cache != null && cache.dense()) {
            // Inference on a layer where the dense delta is no more arithmetic than the factors: one product.
            result = addProduct(x, cache.value(), output);
        } else if (cache != null) {
            // Inference: the scaling is folded into a cached copy of B, one op less per call.
            result = addProduct(Linear.linear(x, a).head(), cache.value(), output);
        } else {
            result = addProduct(Linear.linear(x, a).head().muli(scale(x)), b, output);
        }
        if (loraBBias() != null) {
            // lora_bias: lora_B(h) * scaling adds lora_B.bias * scaling
            result = result.add(store.getValue(loraBBias(), device, training).mul(scale(x)));
        }
        return result;
    }

    /** {@code output + input @ weight^T}. */
    private static NDArray addProduct(NDArray input, NDArray weight, NDArray output) {
        if (input.getShape().dimension() == 2) {
            // One fused addmm (output + input @ weight^T) instead of a matmul, a temporary and an add.
            return Linear.linear(input, weight, output).head();
        }
        return output.addi(Linear.linear(input, weight).head());
    }

    /**
     * The scaling as a 0-dim tensor of {@code like}'s type and device, made once: {@code muli(Number)} builds a new
     * scalar tensor on every call (measured: 2-3 µs per layer and pass, 12% of a small MLP's LoRA forward). It lives
     * with the model's arrays, outside any {@code NDScope} the application's forward pass may run in.
     */
    private NDArray scale(NDArray like) {
        NDArray s = scaleTensor;
        if (s == null || s.getDataType() != like.getDataType() || !s.getDevice().equals(like.getDevice())) {
            s = loraA().getArray().getManager().create((float) scaling())
                    .toType(like.getDataType(), false).toDevice(like.getDevice(), false);
            NDScope.unregister(s);
            scaleTensor = s;
        }
        return s;
    }

    /**
     * The adapter folded for inference, cached while {@link WeightChanges#cacheable()}: {@code scaling * B}, or, on a
     * layer where the dense delta {@code scaling * B @ A} ({@code out x in}) is no more arithmetic per input row than
     * the two factors ({@code out * in <= r * (in + out)}, e.g. PEFT's DummyModel's {@code Linear(10, 10)} at r = 64),
     * that delta: one product per call instead of two. The same sum in exact arithmetic; in float the products are
     * rounded in another order (differences of ~1e-7 relative, as between a merged and an unmerged adapter). Made
     * once per weight epoch from {@code a} and {@code b} (the values this forward uses) and reused while both arrays
     * and the epoch stay the same. {@code null} (compute with A, B and the scalar) while gradients may be recorded or
     * an optimizer step is pending. Never a parameter: never saved, never trained. A replaced value is freed one
     * replacement later, so that a forward on another thread that still holds it finishes first.
     */
    private Folded folded(NDArray a, NDArray b) {
        if (!WeightChanges.cacheable()) {
            return null;
        }
        long epoch = WeightChanges.epoch();
        Folded cached = folded;
        if (cached != null && cached.isFor(a, b, epoch)) {
            return cached;
        }
        synchronized (this) {
            cached = folded;
            if (cached != null && cached.isFor(a, b, epoch)) {
                return cached;
            }
            boolean dense = denseIsCheaper(b.getShape().get(0), a.getShape().get(1), a.getShape().get(0));
            NDArray value;
            try (NDArray detachedA = a.stopGradient(); NDArray detachedB = b.stopGradient()) {
                value = dense ? delta(detachedA, detachedB) : Scalars.mul(detachedB, scaling());
            }
            NDScope.unregister(value);
            retire(cached);
            folded = new Folded(a, b, epoch, dense, value);
            return folded;
        }
    }

    /**
     * On a small layer (where the dense delta is cached, see {@link #folded}) without {@code lora_bias}: the base
     * weight's array with the dense delta added, for an inference forward in which this adapter is the only one, so
     * that the layer costs what the base layer costs (one product instead of two). Cached like the delta (rebuilt when
     * the delta or the base weight's array is replaced, and so in every new weight epoch); {@code null} where it does
     * not apply, the base weight lives on another device, or derived values may not be cached now.
     */
    @Override
    public FusedWeights.Offer fusedWeight(ParameterStore store, Device device) {
        NDArray base = baseWeight().getArray();
        Shape shape = base.getShape();
        if (loraBBias() != null || !base.getDevice().equals(device) || !denseIsCheaper(shape.get(0), shape.get(1),
                rank())) {
            return null;
        }
        Folded cache = folded(store.getValue(loraA(), device, false), store.getValue(loraB(), device, false));
        if (cache == null || !cache.dense()) {
            return null;
        }
        Fused current = fused;
        if (current == null || !current.isFor(base, cache.value())) {
            synchronized (this) {
                current = fused;
                if (current == null || !current.isFor(base, cache.value())) {
                    NDArray weight;
                    try (NDArray detached = base.stopGradient()) {
                        weight = detached.add(cache.value());
                    }
                    NDScope.unregister(weight);
                    retireFused(current);
                    current = new Fused(base, cache.value(), weight);
                    fused = current;
                }
            }
        }
        return new FusedWeights.Offer(base, current.weight());
    }

    /** The base weight {@code weight} made from, for array {@code base} and dense delta {@code delta}. */
    private record Fused(NDArray base, NDArray delta, NDArray weight) {
        boolean isFor(NDArray currentBase, NDArray currentDelta) {
            return base == currentBase && delta == currentDelta;
        }
    }

    /** The cached fused weight, or {@code null} (for tests). */
    NDArray cachedFused() {
        Fused current = fused;
        return current == null ? null : current.weight();
    }

    /**
     * Whether the dense delta of an {@code out x in} layer at rank {@code r} is no more arithmetic per input row than
     * the two factors: {@code out * in <= r * (in + out)}.
     */
    private static boolean denseIsCheaper(long out, long in, long r) {
        return out * in <= r * (in + out);
    }

    /** The cached folded adapter ({@code scaling * B}, or the dense delta), or {@code null} (for tests). */
    NDArray cachedFolded() {
        Folded cached = folded;
        return cached == null ? null : cached.value();
    }

    /** Whether the cached folded adapter is the dense delta (for tests). */
    boolean foldedDense() {
        Folded cached = folded;
        return cached != null && cached.dense();
    }

    /**
     * A cached folded adapter, made from arrays {@code a} and {@code b} in weight epoch {@code epoch}: the dense delta
     * {@code scaling * B @ A} when {@code dense}, else {@code scaling * B}.
     */
    private record Folded(NDArray a, NDArray b, long epoch, boolean dense, NDArray value) {
        boolean isFor(NDArray currentA, NDArray currentB, long currentEpoch) {
            return a == currentA && b == currentB && epoch == currentEpoch;
        }
    }

    /** Frees the value retired before {@code replaced}'s and keeps {@code replaced}'s until the next call. */
    private synchronized void retire(Folded replaced) {
        if (retired != null) {
            retired.close();
        }
        retired = replaced == null ? null : replaced.value();
    }

    @Override
    protected void scalingChanged() {
        NDArray old = scaleTensor;
        scaleTensor = null;
        if (old != null) {
            old.close();
        }
        synchronized (this) {
            retire(folded);
            folded = null;
            dropFused();
        }
    }

    /** Forgets the fused weight (freed one call later, see {@link #retireFused}). */
    private synchronized void dropFused() {
        retireFused(fused);
        fused = null;
    }

    /** Frees the fused weight retired before {@code replaced}'s and keeps {@code replaced}'s until the next call. */
    private synchronized void retireFused(Fused replaced) {
        if (retiredFused != null) {
            retiredFused.close();
        }
        retiredFused = replaced == null ? null : replaced.weight();
    }

    /** The dropout probability on the adapter's input while training. */
    protected final float dropout() {
        return dropout;
    }

    /**
     * For PiSSA and OLoRA, copies of the factors {@code [A0, B0]} as initialised, which define the residual base
     * weight {@code W_res = W - scaling * B0 @ A0}; {@code null} for the initialisations that leave W alone.
     */
    NDArray[] initialFactors() {
        return initialFactors;
    }

    /**
     * Releases the adapter. When its initialisation replaced the base weight by a residual (PiSSA, OLoRA), the
     * original weight is restored first ({@code W_res + scaling * B0 @ A0}, equal to W up to float rounding): removing
     * the adapter, or a failed injection, gives back the model it was injected into. PEFT's {@code delete_adapter}
     * leaves the residual; see the README.
     */
    @Override
    public void close() {
        if (initialFactors != null) {
            NDArray a0 = initialFactors[0];
            NDArray b0 = initialFactors[1];
            WeightUpdate.add(baseWeight().getArray(), () -> Scalars.muli(b0.matMul(a0), scaling()), false,
                    "adapter '" + adapterName() + "'");
            a0.close();
            b0.close();
        }
        synchronized (this) {
            retire(folded);
            retire(null);
            folded = null;
            dropFused();
            retireFused(null);
        }
        super.close();
    }

    /** The weight delta {@code B @ A * scaling}, shape {@code [out, in]}. */
    @Override
    public NDArray deltaWeight() {
        return delta(loraA().getArray(), loraB().getArray());
    }

    /**
     * {@code b @ a * scaling} for factors {@code a}, {@code b} (the parameters' arrays or their values on a device).
     */
    protected final NDArray delta(NDArray a, NDArray b) {
        return Scalars.muli(b.matMul(a), scaling());
    }
}

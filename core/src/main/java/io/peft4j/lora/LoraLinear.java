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


/**
 * LoRA on a DJL {@link Linear}: {@code y = base(x) + B(A(dropout(x))) * scaling} with {@code A: [r, in]},
 * {@code B: [out, r]}, as PEFT's {@code lora.Linear}. Dropout applies only while training. Not final because
 * {@link DoraLinear} is LoRA on a Linear with a magnitude on top.
 */
public class LoraLinear extends LowRankFactors {

    private final float dropout;
    private volatile NDArray scaleTensor;

    /**
     * Creates the adapter and its initialised weights next to the base weight.
     *
     * @param name the adapter name
     * @param baseWeight the Linear's weight parameter, {@code [out, in]}, initialised
     * @param r the rank
     * @param scaling {@code lora_alpha / r} or {@code lora_alpha / sqrt(r)}
     * @param dropout the dropout probability on the adapter's input
     * @param init PEFT's {@code init_lora_weights}
     */
    public LoraLinear(String name, Parameter baseWeight, int r, double scaling, double dropout,
            InitLoraWeights init) {
        super(name, baseWeight, r, scaling, "lora_A", "lora_B", ".weight", initA(baseWeight, r, init),
                initB(baseWeight, r, init));
        this.dropout = (float) dropout;
    }

    private static NDArray initA(Parameter baseWeight, int r, InitLoraWeights init) {
        NDArray weight = baseWeight.getArray();
        Shape shape = new Shape(r, weight.getShape().get(1));
        return init == InitLoraWeights.GAUSSIAN
                ? weight.getManager().randomNormal(0f, 1f / r, shape, weight.getDataType())
                : kaimingUniform(weight.getManager(), shape, weight.getDataType());
    }

    private static NDArray initB(Parameter baseWeight, int r, InitLoraWeights init) {
        NDArray weight = baseWeight.getArray();
        Shape shape = new Shape(weight.getShape().get(0), r);
        return init == InitLoraWeights.FALSE ? kaimingUniform(weight.getManager(), shape, weight.getDataType())
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
        NDArray hidden = Linear.linear(x, a).head().muli(scale(x));
        if (hidden.getShape().dimension() == 2) {
            // One fused addmm (output + hidden @ B^T) instead of a matmul, a temporary and an add.
            return Linear.linear(hidden, b, output).head();
        }
        NDArray delta = Linear.linear(hidden, b).head();
        return output.addi(delta);
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

    @Override
    protected void scalingChanged() {
        NDArray old = scaleTensor;
        scaleTensor = null;
        if (old != null) {
            old.close();
        }
    }

    /** The dropout probability on the adapter's input while training. */
    protected final float dropout() {
        return dropout;
    }

    /** The weight delta {@code B @ A * scaling}, shape {@code [out, in]}. */
    @Override
    public NDArray deltaWeight() {
        return loraB().getArray().matMul(loraA().getArray()).muli((float) scaling());
    }
}

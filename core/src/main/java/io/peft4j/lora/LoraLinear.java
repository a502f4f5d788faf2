package io.peft4j.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.peft4j.config.InitLoraWeights;
import io.peft4j.tuner.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on a DJL {@link Linear}: {@code y = base(x) + B(A(dropout(x))) * scaling} with {@code A: [r, in]},
 * {@code B: [out, r]}, as PEFT's {@code lora.Linear}. Dropout applies only while training.
 */
public final class LoraLinear implements LowRankAdapter {

    private final String name;
    private final int r;
    private final double scaling;
    private final float dropout;
    private final Parameter baseWeight;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Map<String, Parameter> parameters;

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
        this.name = name;
        this.r = r;
        this.scaling = scaling;
        this.dropout = (float) dropout;
        this.baseWeight = baseWeight;
        NDArray weight = baseWeight.getArray();
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        NDManager manager = weight.getManager();
        DataType dtype = weight.getDataType();
        NDArray a;
        NDArray b;
        switch (init) {
            case GAUSSIAN:
                a = manager.randomNormal(0f, 1f / r, new Shape(r, in), dtype);
                b = manager.zeros(new Shape(out, r), dtype);
                break;
            case FALSE:
                a = kaimingUniform(manager, new Shape(r, in), dtype);
                b = kaimingUniform(manager, new Shape(out, r), dtype);
                break;
            default:
                a = kaimingUniform(manager, new Shape(r, in), dtype);
                b = manager.zeros(new Shape(out, r), dtype);
        }
        loraA = AdapterParameters.create("lora_A." + name + ".weight", a);
        loraB = AdapterParameters.create("lora_B." + name + ".weight", b);
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put(loraA.getName(), loraA);
        params.put(loraB.getName(), loraB);
        this.parameters = Collections.unmodifiableMap(params);
    }

    /** torch's {@code kaiming_uniform_(w, a=sqrt(5))}, the default init of {@code nn.Linear}: U(-1/sqrt(fan_in), +). */
    static NDArray kaimingUniform(NDManager manager, Shape shape, DataType dtype) {
        float bound = (float) (1.0 / Math.sqrt(shape.get(1)));
        return manager.randomUniform(-bound, bound, shape, dtype);
    }

    @Override
    public String adapterName() {
        return name;
    }

    @Override
    public String adapterType() {
        return "LORA";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        Device device = input.getDevice();
        NDArray a = store.getValue(loraA, device, training);
        NDArray b = store.getValue(loraB, device, training);
        NDArray x = training && dropout > 0f ? Dropout.dropout(input, dropout, true).head() : input;
        NDArray hidden = Linear.linear(x, a).head().muli((float) scaling);
        NDArray delta = Linear.linear(hidden, b).head();
        return output.addi(delta);
    }

    @Override
    public Parameter loraA() {
        return loraA;
    }

    @Override
    public Parameter loraB() {
        return loraB;
    }

    /** The weight delta {@code B @ A * scaling}, shape {@code [out, in]}. */
    @Override
    public NDArray deltaWeight() {
        return loraB.getArray().matMul(loraA.getArray()).muli((float) scaling);
    }

    @Override
    public void merge(boolean safe) {
        WeightUpdate.add(baseWeight.getArray(), this::deltaWeight, safe, "adapter '" + name + "'");
    }

    @Override
    public void unmerge() {
        WeightUpdate.subtract(baseWeight.getArray(), this::deltaWeight);
    }

    @Override
    public int rank() {
        return r;
    }

    @Override
    public double scaling() {
        return scaling;
    }
}

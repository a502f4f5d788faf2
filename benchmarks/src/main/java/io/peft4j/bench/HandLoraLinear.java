package io.peft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/**
 * The LoRA layer written by hand as one DJL block, the yardstick for peft4j's injected LoRA:
 * {@code y = x W^T + b + ((x A^T) * s) B^T}, with the same DJL ops peft4j issues ({@code linear}, {@code linear},
 * {@code muli}, {@code linear}, {@code addi}) and the same initialisation ({@code B = 0}).
 */
public final class HandLoraLinear extends AbstractBlock {

    private final long units;
    private final int rank;
    private final float scaling;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter loraA;
    private final Parameter loraB;

    /**
     * @param units output features
     * @param rank LoRA rank r
     * @param alpha lora_alpha (scaling = alpha / r)
     */
    public HandLoraLinear(long units, int rank, float alpha) {
        this.units = units;
        this.rank = rank;
        this.scaling = alpha / rank;
        weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build());
        bias = addParameter(Parameter.builder().setName("bias").setType(Parameter.Type.BIAS).build());
        loraA = addParameter(Parameter.builder().setName("lora_A").setType(Parameter.Type.WEIGHT).build());
        loraB = addParameter(Parameter.builder().setName("lora_B").setType(Parameter.Type.WEIGHT)
                .optInitializer(Initializer.ZEROS).build());
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        long in = inputShapes[0].get(inputShapes[0].dimension() - 1);
        weight.setShape(new Shape(units, in));
        bias.setShape(new Shape(units));
        loraA.setShape(new Shape(rank, in));
        loraB.setShape(new Shape(units, rank));
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Device device = x.getDevice();
        NDArray w = store.getValue(weight, device, training);
        NDArray b = store.getValue(bias, device, training);
        NDArray a = store.getValue(loraA, device, training);
        NDArray bb = store.getValue(loraB, device, training);
        NDArray y = Linear.linear(x, w, b).singletonOrThrow();
        NDArray hidden = Linear.linear(x, a).singletonOrThrow().muli(scaling);
        return new NDList(y.addi(Linear.linear(hidden, bb).singletonOrThrow()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        Shape in = inputs[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(units)};
    }

    @Override
    public String toString() {
        return "HandLoraLinear(units=" + units + ", r=" + rank + ", " + DataType.FLOAT32 + ")";
    }
}

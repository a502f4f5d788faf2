package io.peft4j.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;

import java.util.Map;

/**
 * IA3 on a Linear or convolution, as PEFT's {@code ia3.Linear} / {@code ia3.Conv2d}: a learned vector
 * {@code ia3_l} that scales the module's input ({@code feedforward_modules}: shape {@code [1, in]}, or
 * {@code [1, in, 1, 1]} for convolutions) or its output, bias included ({@code [out, 1]}, or {@code [1, out, 1, 1]}).
 * Initialised to ones ({@code init_ia3_weights=true}) or standard normal.
 */
public final class Ia3Adapter implements ModuleAdapter {

    private final String name;
    private final boolean feedforward;
    private final boolean convolution;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter vector;
    private final Map<String, Parameter> parameters;

    /**
     * Creates the adapter for {@code block} (initialised).
     *
     * @param convolution whether the block is a convolution (vector laid out over channels)
     */
    public Ia3Adapter(String name, Block block, boolean feedforward, boolean convolution, boolean initOnes) {
        this.name = name;
        this.feedforward = feedforward;
        this.convolution = convolution;
        this.weight = block.getDirectParameters().get("weight");
        this.bias = block.getDirectParameters().contains("bias") ? block.getDirectParameters().get("bias") : null;
        NDArray w = weight.getArray();
        Shape ws = w.getShape();
        long out = ws.get(0);
        long in = convolution ? ws.get(1) * groups(block) : ws.get(1);
        Shape shape;
        if (convolution) {
            long[] dims = new long[ws.dimension()];
            java.util.Arrays.fill(dims, 1);
            dims[1] = feedforward ? in : out;
            shape = new Shape(dims);
        } else {
            shape = feedforward ? new Shape(1, in) : new Shape(out, 1);
        }
        NDManager manager = w.getManager();
        DataType dtype = w.getDataType();
        NDArray init = initOnes ? manager.ones(shape, dtype) : manager.randomNormal(shape, dtype);
        vector = AdapterParameters.create("ia3_l." + name, init);
        parameters = Map.of(vector.getName(), vector);
    }

    private static long groups(Block block) {
        return block instanceof ai.djl.nn.convolutional.Convolution
                ? ((ai.djl.nn.convolutional.Convolution) block).getGroups() : 1;
    }

    /** The scaling vector {@code ia3_l}. */
    public Parameter vector() {
        return vector;
    }

    /** Whether this adapter scales the input (a feed-forward module). */
    public boolean isFeedforward() {
        return feedforward;
    }

    @Override
    public String adapterName() {
        return name;
    }

    @Override
    public String adapterType() {
        return "IA3";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    private NDArray scale(ParameterStore store, NDArray like, boolean training) {
        NDArray l = store.getValue(vector, like.getDevice(), training);
        return convolution ? l : l.flatten();
    }

    @Override
    public NDList beforeForward(ParameterStore store, NDList inputs, boolean training) {
        if (!feedforward) {
            return inputs;
        }
        NDArray x = inputs.head();
        NDList scaled = new NDList(x.mul(scale(store, x, training)));
        for (int i = 1; i < inputs.size(); i++) {
            scaled.add(inputs.get(i));
        }
        return scaled;
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        if (feedforward) {
            return output;
        }
        NDArray l = scale(store, output, training);
        return training ? output.mul(l) : output.muli(l);
    }

    /** The factor the base weight is multiplied by when merged, broadcastable to the weight. */
    private NDArray weightFactor() {
        NDArray l = vector.getArray();
        if (!convolution) {
            return l;
        }
        return feedforward ? l : l.swapAxes(0, 1);
    }

    @Override
    public void merge(boolean safe) {
        WeightUpdate.multiply(weight.getArray(), this::weightFactor, safe, "adapter '" + name + "'");
        if (!feedforward && bias != null) {
            WeightUpdate.multiply(bias.getArray(), () -> vector.getArray().reshape(bias.getArray().getShape()),
                    safe, "adapter '" + name + "'");
        }
    }

    /**
     * Divides by the vector again. PEFT divides by {@code ia3_l + 1e-8}, which leaves a relative error of
     * {@code 1e-8 / ia3_l} (3e-6 on the golden case); peft4j divides by {@code ia3_l} itself and uses {@code 1e-8}
     * only where an entry is exactly 0 (whose row or column the merge erased: PEFT's safe merge accepts that, and so
     * does peft4j's, and neither can restore it).
     */
    @Override
    public void unmerge() {
        WeightUpdate.divide(weight.getArray(), () -> nonZero(weightFactor()));
        if (!feedforward && bias != null) {
            WeightUpdate.divide(bias.getArray(), () -> nonZero(vector.getArray().reshape(bias.getArray().getShape())));
        }
    }

    private static NDArray nonZero(NDArray factor) {
        return factor.add(Scalars.mul(factor.eq(0f).toType(factor.getDataType(), false), 1e-8));
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public double scaling() {
        return 1;
    }

    @Override
    public String describe() {
        return feedforward ? "scales the input (feed-forward)" : "scales the output";
    }
}

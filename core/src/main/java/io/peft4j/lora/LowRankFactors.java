package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import io.peft4j.layer.AdapterParameters;
import io.peft4j.layer.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What every LoRA adapter shares: its name, rank and scaling, the factors A and B as DJL parameters, and merging by
 * adding {@link #deltaWeight()} to the base weight. Subclasses give the forward pass and the delta's layout.
 */
public abstract class LowRankFactors implements LowRankAdapter {

    private final String name;
    private final int r;
    private final double scaling;
    private final Parameter baseWeight;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Parameter> parametersView = Collections.unmodifiableMap(parameters);

    /**
     * Takes ownership of the initialised factors.
     *
     * @param prefixA the parameter name of A without the adapter name ({@code lora_A}, {@code lora_embedding_A})
     * @param suffix what follows the adapter name ({@code .weight} for modules, empty for bare parameters)
     */
    protected LowRankFactors(String name, Parameter baseWeight, int r, double scaling, String prefixA,
            String prefixB, String suffix, NDArray a, NDArray b) {
        this.name = name;
        this.r = r;
        this.scaling = scaling;
        this.baseWeight = baseWeight;
        this.loraA = AdapterParameters.create(prefixA + "." + name + suffix, a);
        this.loraB = AdapterParameters.create(prefixB + "." + name + suffix, b);
        addParameter(loraA);
        addParameter(loraB);
    }

    /** Adds a subclass's parameter (DoRA's magnitude, AdaLoRA's E) after A and B, in PEFT's order; in constructors. */
    protected final void addParameter(Parameter parameter) {
        parameters.put(parameter.getName(), parameter);
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
        return parametersView;
    }

    @Override
    public Parameter loraA() {
        return loraA;
    }

    @Override
    public Parameter loraB() {
        return loraB;
    }

    /** The base weight the delta is merged into. */
    protected Parameter baseWeight() {
        return baseWeight;
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

package io.peft4j.agent.jmx;

import javax.management.ConstructorParameters;

/** A module that carries an adapter: a row of {@link AdaptersMXBean#getInjectedModules()}. */
public final class ModuleInfo {

    private final String model;
    private final String path;
    private final String blockClass;
    private final String adapterName;
    private final String adapterType;
    private final int rank;
    private final double scaling;
    private final long trainableParameters;

    /** Creates the row (also used by the MXBean framework to rebuild it from {@code CompositeData}). */
    @ConstructorParameters({"model", "path", "blockClass", "adapterName", "adapterType", "rank", "scaling",
        "trainableParameters"})
    public ModuleInfo(String model, String path, String blockClass, String adapterName, String adapterType, int rank,
            double scaling, long trainableParameters) {
        this.model = model;
        this.path = path;
        this.blockClass = blockClass;
        this.adapterName = adapterName;
        this.adapterType = adapterType;
        this.rank = rank;
        this.scaling = scaling;
        this.trainableParameters = trainableParameters;
    }

    /** The model id, e.g. {@code Mlp#1}. */
    public String getModel() {
        return model;
    }

    /** The module's PyTorch-style path, e.g. {@code fc1}. */
    public String getPath() {
        return path;
    }

    /** The DJL block class, e.g. {@code ai.djl.nn.core.Linear}. */
    public String getBlockClass() {
        return blockClass;
    }

    /** The adapter name. */
    public String getAdapterName() {
        return adapterName;
    }

    /** The adapter type as PEFT names it, e.g. {@code LORA}. */
    public String getAdapterType() {
        return adapterType;
    }

    /** The rank (LoRA r), 0 where it does not apply. */
    public int getRank() {
        return rank;
    }

    /** The scaling of the delta. */
    public double getScaling() {
        return scaling;
    }

    /** The adapter's parameters in this module (trainable while the adapter is active). */
    public long getTrainableParameters() {
        return trainableParameters;
    }
}

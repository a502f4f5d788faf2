package io.peft4j.agent.jmx;

import javax.management.ConstructorParameters;

/** One adapter of one model: a row of {@link AdaptersMXBean#getAdapters()}. */
public final class AdapterInfo {

    private final String model;
    private final String name;
    private final String type;
    private final boolean active;
    private final boolean enabled;
    private final boolean merged;
    private final long parameterCount;
    private final double l2Norm;
    private final long memoryBytes;

    /** Creates the row (also used by the MXBean framework to rebuild it from {@code CompositeData}). */
    @ConstructorParameters({"model", "name", "type", "active", "enabled", "merged", "parameterCount", "l2Norm",
        "memoryBytes"})
    public AdapterInfo(String model, String name, String type, boolean active, boolean enabled, boolean merged,
            long parameterCount, double l2Norm, long memoryBytes) {
        this.model = model;
        this.name = name;
        this.type = type;
        this.active = active;
        this.enabled = enabled;
        this.merged = merged;
        this.parameterCount = parameterCount;
        this.l2Norm = l2Norm;
        this.memoryBytes = memoryBytes;
    }

    /** The model id, e.g. {@code Mlp#1}. */
    public String getModel() {
        return model;
    }

    /** The adapter name. */
    public String getName() {
        return name;
    }

    /** The adapter type as PEFT names it, e.g. {@code LORA}. */
    public String getType() {
        return type;
    }

    /** Whether the adapter is among the model's active adapters. */
    public boolean isActive() {
        return active;
    }

    /** Whether the model's adapters are enabled ({@code disableAdapters} clears it). */
    public boolean isEnabled() {
        return enabled;
    }

    /** Whether the adapter is merged into the base weights (in every module it targets). */
    public boolean isMerged() {
        return merged;
    }

    /** The number of scalar parameters of the adapter in its tuned modules. */
    public long getParameterCount() {
        return parameterCount;
    }

    /** The L2 norm of all its parameters taken together. */
    public double getL2Norm() {
        return l2Norm;
    }

    /** Bytes the adapter's parameters take in memory. */
    public long getMemoryBytes() {
        return memoryBytes;
    }
}

package io.peft4j.layer;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

/** Creates DJL {@link Parameter}s that own freshly made adapter arrays and take part in training. */
public final class AdapterParameters {

    private AdapterParameters() {}

    /** A trainable weight parameter named {@code name} holding {@code array}. */
    public static Parameter create(String name, NDArray array) {
        Parameter parameter = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        parameter.setArray(array);
        array.setRequiresGradient(true);
        WeightChanges.changed();
        return parameter;
    }
}

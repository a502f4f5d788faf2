package io.peft4j.instrument;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.peft4j.tuner.AdapterRegistry;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into {@code ParameterStore.getValue(Parameter, Device, boolean)}: one volatile read unless some module is
 * in {@code modules_to_save}.
 */
public final class ParameterValueAdvice {

    private ParameterValueAdvice() {}

    /** After the store resolved the value. */
    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(
            @Advice.This ParameterStore store,
            @Advice.Argument(0) Parameter parameter,
            @Advice.Argument(1) Device device,
            @Advice.Argument(2) boolean training,
            @Advice.Return(readOnly = false) NDArray value) {
        if (parameter != null && AdapterRegistry.anySubstitution()) {
            value = ParameterHooks.substitute(store, parameter, device, training, value);
        }
    }
}

package io.peft4j.instrument;

import io.peft4j.tuner.AdapterRegistry;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Inlined into {@code ParameterStore.getValue(Parameter, Device, boolean)}: one volatile read unless some module is
 * in {@code modules_to_save}.
 */
public final class ParameterValueAdvice {

    private ParameterValueAdvice() {}

    /** After the store resolved the value. */
    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(
            @Advice.This Object store,
            @Advice.Argument(0) Object parameter,
            @Advice.Argument(1) Object device,
            @Advice.Argument(2) boolean training,
            @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object value) {
        if (parameter != null && AdapterRegistry.anySubstitution()) {
            value = ParameterHooks.substitute(store, parameter, device, training, value);
        }
    }
}

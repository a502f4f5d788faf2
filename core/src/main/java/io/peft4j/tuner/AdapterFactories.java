package io.peft4j.tuner;

import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;
import io.peft4j.adalora.AdaLoraModules;
import io.peft4j.ia3.Ia3Modules;
import io.peft4j.lora.LoraModules;

/** The adapter factory for each PEFT type peft4j implements. */
public final class AdapterFactories {

    private AdapterFactories() {}

    /** The factory for {@code type}; a clear error for types peft4j does not implement. */
    public static AdapterFactory forType(PeftType type) {
        switch (type) {
            case LORA:
                return new LoraModules();
            case IA3:
                return new Ia3Modules();
            case ADALORA:
                return new AdaLoraModules();
            default:
                throw new PeftConfigException("peft_type " + type.jsonName() + " is not supported by peft4j yet "
                        + "(supported: LORA, IA3, ADALORA)");
        }
    }
}

package io.peft4j.traced;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftType;

import java.util.List;
import java.util.Map;

/**
 * What a PEFT method contributes to traced models: which tensors it saves per module and how they merge into the
 * module's weights. Implementations live in the method's package and are found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.peft4j.traced.TracedMethod}); generic code asks them through {@link TracedMethods},
 * never names them.
 */
public interface TracedMethod {

    /** The PEFT type handled ({@code peft_type} of {@code adapter_config.json}). */
    PeftType peftType();

    /**
     * The tensor names this method may save per module, relative to the module path, as in PEFT's state dict
     * without the adapter name: {@code lora_A.weight}, {@code lora_embedding_A}, {@code ia3_l}, ...
     */
    List<String> slots();

    /**
     * Binds one targeted module: checks the saved tensors against the module's weight and returns the merge.
     *
     * @throws IllegalArgumentException PEFT-style, naming the key and both shapes, when a tensor does not fit
     * @throws io.peft4j.config.PeftConfigException when the module cannot carry this adapter (naming the module)
     */
    ModuleMerge bind(Binding binding);

    /**
     * Whether the adapter file may carry base parameter {@code parameterName} itself (LoRA's {@code bias="all"}
     * and {@code "lora_only"} save biases); its value then replaces the model's.
     *
     * @param targeted whether the parameter belongs to a module the adapter targets
     */
    default boolean savesBaseParameter(AdapterConfig config, String parameterName, boolean targeted) {
        return false;
    }

    /**
     * What {@link #bind} works with.
     *
     * @param config the adapter's config
     * @param adapterName the adapter's name
     * @param module the targeted module
     * @param tensors the module's saved tensors by slot (empty when the adapter directory has no weights: then the
     *     method initialises them as PEFT does)
     * @param manager where new arrays are created (they belong to the adapter)
     * @param memory facts the first adapter on a module fixes for later ones (IA3's feed-forward flag)
     */
    record Binding(AdapterConfig config, String adapterName, TracedModule module, Map<String, NDArray> tensors,
            NDManager manager, LayerMemory memory) {

        /** The state-dict key of {@code slot} in this module: {@code path.slot}. */
        public String key(String slot) {
            return module.path() + "." + slot;
        }

        /** Whether the adapter came with weights. */
        public boolean hasWeights() {
            return !tensors.isEmpty();
        }
    }
}

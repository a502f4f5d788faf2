package io.peft4j.config;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.layer.ModuleAdapter;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PEFT method (LoRA, IA3, AdaLoRA, ...) as the generic code sees it: everything config reading, injection, state
 * dicts and training need to know about one {@code peft_type}, so that none of them names a method. As PEFT's
 * {@code register_peft_method}, each method lives in its own package with its config class and layers, and registers
 * one implementation of this interface in {@code META-INF/services/io.peft4j.config.PeftMethod}; {@link PeftMethods}
 * finds them with {@link java.util.ServiceLoader}.
 *
 * <p>It sits in {@code config} because reading a config already needs it ({@code peft_type} picks the method), and
 * {@code config} is below every other generic package. An implementation must be loadable without DJL (the agent's
 * {@code inspect} command reads configs with no DJL on its class path): keep DJL types in signatures and in the
 * classes it delegates to.
 */
public interface PeftMethod {

    // ---------------------------------------------------------------- config

    /** The {@code peft_type} this method reads, e.g. {@link PeftType#LORA}. */
    PeftType peftType();

    /**
     * Makes the validated config of this method from the JSON object of an {@code adapter_config.json} (its
     * {@code peft_type} is this method's; {@code runtime_config} is already removed), as PEFT's
     * {@code from_pretrained}: absent fields get PEFT's defaults, wrong types and values throw.
     *
     * @param source names the JSON in messages (its file path)
     * @throws PeftConfigException naming {@code source} and the key at fault
     */
    AdapterConfig parseConfig(String source, Map<String, Object> json);

    /**
     * The keys of this method's configs ({@code LoraConfig.SCHEMA}), for messages about a config that could not be
     * made: the unknown keys of a rejected JSON are named with their did-you-mean ({@link Suggestions}).
     */
    ConfigSchema configSchema();

    // ---------------------------------------------------------------- injection

    /** Whether this method can adapt {@code block}. */
    boolean supports(Block block);

    /** The DJL block classes it supports, for error messages. */
    String supportedBlocks();

    /**
     * Checks a new adapter against the model's existing ones (PEFT's {@code _check_new_adapter_config}); throws to
     * refuse the injection.
     *
     * @param existing the model's adapters before this one, by name
     */
    default void checkNewAdapter(AdapterConfig config, Map<String, AdapterConfig> existing) {}

    /** Checks rules that need the targeted modules (all of them); throws to refuse the injection. */
    default void validate(AdapterConfig config, List<String> targetedPaths) {}

    /**
     * Creates the adapter layer {@code name} for {@code block} at module path {@code path} (a block it
     * {@link #supports(Block) supports}, matched by {@code config}).
     *
     * @throws PeftConfigException when the block's shape or the settings rule the adapter out
     */
    ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block);

    /**
     * Creates adapter {@code name} on a module that may carry adapters already ({@code existing}, by name), as PEFT's
     * {@code update_layer} on an existing tuner layer: a method whose layer keeps per-layer settings from its first
     * adapter (IA3's {@code is_feedforward}) reads them here. By default the existing adapters do not matter.
     */
    default ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block,
            Map<String, ModuleAdapter> existing) {
        return createAdapter(config, name, path, block);
    }

    /**
     * Whether base parameter {@code name} (its full PEFT name, e.g. {@code fc1.base_layer.bias}) trains while an
     * adapter with {@code config} is active (PEFT's {@code _mark_only_adapters_as_trainable}; LoRA's {@code bias}).
     *
     * @param torchName the parameter's own name in its module, e.g. {@code bias}
     * @param adapted whether the parameter's module carries adapters
     */
    default boolean trainsBaseParameter(AdapterConfig config, String name, String torchName, boolean adapted) {
        return false;
    }

    // ---------------------------------------------------------------- state dicts

    /** The infix of this method's parameter names, PEFT's {@code PEFT_TYPE_TO_PREFIX_MAPPING}: {@code "lora_"}. */
    String prefix();

    /**
     * The entries of adapter {@code adapter} that {@code get_peft_model_state_dict} keeps from the model's named
     * parameters, names unchanged; {@code named} no longer holds the other adapters' parameters (the caller dropped
     * them by PEFT's rule, as it adds {@code modules_to_save} and removes the adapter name). By default, PEFT's rule
     * for most methods: every name containing {@link #prefix()}.
     */
    default LinkedHashMap<String, Parameter> selectStateDict(AdapterConfig config, String adapter,
            Map<String, Parameter> named) {
        LinkedHashMap<String, Parameter> selected = new LinkedHashMap<>();
        named.forEach((k, v) -> {
            if (k.contains(prefix())) {
                selected.put(k, v);
            }
        });
        return selected;
    }

    /** A method's own renaming of a selected name before the adapter name is removed; none by default. */
    default String savedKey(String name, String adapter) {
        return name;
    }

    /** The inverse of {@link #savedKey(String, String)}, applied last when a saved key is mapped to the model. */
    default String modelKey(String name, String adapter) {
        return name;
    }

    /**
     * Changes the tensors about to be saved in place, as PEFT's {@code get_peft_model_state_dict} does for some
     * methods (AdaLoRA cuts its factors to the kept ranks); replaced arrays are new and owned by the caller. None by
     * default.
     */
    default void resizeForSaving(AdapterConfig config, String adapter, Map<String, NDArray> tensors) {}

    /**
     * The config written next to adapter {@code adapter}'s tensors, as PEFT's {@code get_peft_model_state_dict}
     * leaves it (AdaLoRA drops the adapter name from its {@code rank_pattern} keys); {@code config} by default.
     */
    default AdapterConfig savedConfig(AdapterConfig config, String adapter) {
        return config;
    }

    // ---------------------------------------------------------------- training

    /** What the method does during DJL training without a call from the application, or {@code null} (nothing). */
    default TrainingHook trainingHook() {
        return null;
    }

    /**
     * Training-time work of a method (AdaLoRA's rank allocation), called by the woven training hooks for every model in
     * training; each call must return quickly when the model has no adapter of this method.
     */
    interface TrainingHook {

        /** A Trainer was created for the model rooted at {@code root}. */
        default void trainerOpened(Block root) {}

        /** A Trainer of the model rooted at {@code root} is closing. */
        default void trainerClosed(Block root) {}

        /** Before {@code Trainer.step()}: the gradients are still there. */
        default void beforeStep(Block root) {}

        /** After {@code Trainer.step()}: the parameters are updated. */
        default void afterStep(Block root) {}

        /** The loss to back-propagate instead of {@code loss} (a regulariser added); {@code loss} by default. */
        default NDArray beforeBackward(NDArray loss) {
            return loss;
        }
    }
}

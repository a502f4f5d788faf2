package io.peft4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftType;
import io.peft4j.ia3.Ia3WeightedAdapters;
import io.peft4j.instrument.PeftInstrumentation;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.TensorArrays;
import io.peft4j.lora.Combination;
import io.peft4j.lora.CombineOptions;
import io.peft4j.lora.LoraHotswap;
import io.peft4j.lora.ResidualConversion;
import io.peft4j.lora.WeightedAdapters;
import io.peft4j.state.AdapterDirectory;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.state.StateDictLoadResult;
import io.peft4j.traced.TorchScriptMerge;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.AdapterSelection;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * peft4j's low-level Java API, mirroring PEFT's: {@code inject_adapter_in_model}, {@code get_peft_model_state_dict},
 * {@code set_peft_model_state_dict}, plus saving and loading adapter directories, {@code merge_and_unload} /
 * {@code unload}, and the operations PEFT only offers on a {@code PeftModel} (activate, disable, merge, delete)
 * through {@link #adapters(Block)}.
 *
 * <p>The model is any DJL block tree, addressed by PyTorch-style module paths ({@link io.peft4j.model.ModuleTree}).
 * Works in a plain JVM: without {@code -javaagent} the instrumentation is attached on first use. Traced models
 * (TorchScript) carry merged adapters instead: {@link #traced(Block)}, {@link #mergeIntoTorchScript}.
 *
 * <pre>{@code
 * LoraConfig config = LoraConfig.builder().r(8).loraAlpha(16).targetModules(List.of("fc1", "fc2")).build();
 * Peft.injectAdapter(config, model.getBlock());          // adapter "default", active
 * ... train with DJL's Trainer as usual ...
 * Peft.saveAdapter(model.getBlock(), Path.of("out"));    // adapter_config.json + adapter_model.safetensors
 * }</pre>
 */
public final class Peft {

    /** The adapter name PEFT uses when none is given. */
    public static final String DEFAULT_ADAPTER = "default";

    private Peft() {}

    /**
     * Injects adapter {@value #DEFAULT_ADAPTER} into {@code model}; see {@link #injectAdapter(AdapterConfig, Block,
     * String)}.
     */
    public static ModelAdapters injectAdapter(AdapterConfig config, Block model) {
        return injectAdapter(config, model, DEFAULT_ADAPTER);
    }

    /**
     * Injects adapter {@code name} into every module of {@code model} that {@code config} targets (PEFT's
     * {@code inject_adapter_in_model}). The model's parameters must be initialised. The new adapter becomes the active
     * one; base parameters are frozen as PEFT freezes them.
     *
     * @return the model's adapters
     */
    public static ModelAdapters injectAdapter(AdapterConfig config, Block model, String name) {
        PeftInstrumentation.ensureInstalled();
        ModelAdapters adapters = AdapterRegistry.modelFor(model);
        adapters.inject(config, name);
        return adapters;
    }

    /** The adapters of {@code model}, if any were injected. */
    public static Optional<ModelAdapters> adapters(Block model) {
        return Optional.ofNullable(AdapterRegistry.model(model));
    }

    /**
     * Runs this thread's forward passes with {@code names} instead of the model's active adapters until the returned
     * scope is closed (their deltas add up, as with {@code set_adapter}); no name, {@code "none"} or an empty name
     * means the base model. Only the current thread is affected and no lock is taken: threads serving different
     * adapters run concurrently on one model. Scopes nest; closing one restores the previous selection.
     *
     * <pre>{@code
     * try (var scope = Peft.useAdapters("tenantA")) {
     *     Classifications out = predictor.predict(image);
     * }
     * }</pre>
     *
     * A forward pass naming an adapter the model does not have, or running while adapters are merged, fails with
     * {@link io.peft4j.tuner.AdapterSelectionException}.
     */
    public static AdapterSelection useAdapters(String... names) {
        return AdapterSelection.open(List.of(names));
    }

    /** {@link #useAdapters(String...)} with a list. */
    public static AdapterSelection useAdapters(List<String> names) {
        return AdapterSelection.open(names);
    }

    /**
     * A mixed batch, PEFT's {@code adapter_names}: row {@code i} (first axis of every tuned module's input) of this
     * thread's forward passes runs with adapter {@code rows.get(i)} ({@value AdapterSelection#BASE}, {@code "none"} or
     * empty for the base model) until the returned scope is closed. Every tuned module gathers each adapter's rows,
     * runs that adapter on them and writes them back (LoRA on Linear, Embedding and Conv, DoRA, IA3). Refused as in
     * PEFT, with {@link io.peft4j.tuner.AdapterSelectionException}: in training mode, with merged adapters, with an
     * unknown adapter, or when the batch size differs from {@code rows.size()}.
     */
    public static AdapterSelection useAdapterPerRow(List<String> rows) {
        return AdapterSelection.perRow(rows);
    }

    /** The state dict of adapter {@value #DEFAULT_ADAPTER}. */
    public static LinkedHashMap<String, NDArray> getStateDict(Block model) {
        return getStateDict(model, DEFAULT_ADAPTER);
    }

    /**
     * PEFT's {@code get_peft_model_state_dict}: the adapter's tensors under PEFT's keys (e.g.
     * {@code fc1.lora_A.weight}); the arrays are the live parameters (do not close them), except for an AdaLoRA
     * adapter after rank allocation, whose tensors are cut to the kept ranks as PEFT saves them.
     */
    public static LinkedHashMap<String, NDArray> getStateDict(Block model, String adapter) {
        return PeftStateDicts.adapterTensors(require(model), adapter);
    }

    /** Loads a state dict into adapter {@value #DEFAULT_ADAPTER}. */
    public static StateDictLoadResult setStateDict(Block model, Map<String, NDArray> stateDict) {
        return setStateDict(model, stateDict, DEFAULT_ADAPTER);
    }

    /**
     * PEFT's {@code set_peft_model_state_dict}: copies the values into the adapter (keys with or without
     * {@code base_model.model.}) and reports unexpected keys and adapter keys not provided.
     */
    public static StateDictLoadResult setStateDict(Block model, Map<String, NDArray> stateDict, String adapter) {
        return PeftStateDicts.load(require(model), adapter, stateDict);
    }

    /** Saves adapter {@value #DEFAULT_ADAPTER} to {@code dir}. */
    public static List<Path> saveAdapter(Block model, Path dir) {
        return saveAdapter(model, dir, DEFAULT_ADAPTER);
    }

    /** Writes {@code dir/adapter_config.json} and {@code dir/adapter_model.safetensors} as PEFT does. */
    public static List<Path> saveAdapter(Block model, Path dir, String adapter) {
        return AdapterDirectory.save(require(model), adapter, dir);
    }

    /**
     * Saves a PiSSA or OLoRA adapter as a plain LoRA of the original base model (rank {@code 2r}), as PEFT's
     * {@code save_pretrained(dir, path_initial_model_for_weight_conversion=...)}: the result loads on the unchanged
     * base model, in Python or Java, and combines with other adapters. See {@link ResidualConversion}.
     *
     * @throws IllegalArgumentException when the adapter did not change base weights or cannot be converted
     */
    public static List<Path> saveAdapterAsLora(Block model, Path dir, String adapter) {
        return ResidualConversion.save(require(model), adapter, dir);
    }

    /** Loads the adapter in {@code dir} as {@value #DEFAULT_ADAPTER}. */
    public static ModelAdapters loadAdapter(Block model, Path dir) {
        return loadAdapter(model, dir, DEFAULT_ADAPTER);
    }

    /**
     * Reads {@code dir/adapter_config.json}, injects the adapter as {@code name} and, when
     * {@code dir/adapter_model.safetensors} exists, loads its weights (otherwise the adapter keeps its
     * initialisation, ready to train). Forward passes running meanwhile see the model without the new adapter, and
     * the next ones see it fully loaded (hot swap).
     */
    public static ModelAdapters loadAdapter(Block model, Path dir, String name) {
        return loadAdapter(model, AdapterConfigs.read(dir), dir, name);
    }

    /**
     * {@link #loadAdapter(Block, Path, String)} with the config already read from {@code dir} (e.g. once for many
     * models): injects {@code config} as {@code name} and loads {@code dir/adapter_model.safetensors} when it exists.
     */
    public static ModelAdapters loadAdapter(Block model, AdapterConfig config, Path dir, String name) {
        PeftInstrumentation.ensureInstalled();
        ModelAdapters adapters = AdapterRegistry.modelFor(model);
        return adapters.exclusive(() -> {
            List<String> active = adapters.activeAdapters();
            adapters.inject(config, name);
            if (AdapterDirectory.hasWeights(dir)) {
                try {
                    AdapterDirectory.loadWeights(adapters, name, dir);
                } catch (RuntimeException e) {
                    // back to the adapters active before (deleting would activate the first remaining one)
                    adapters.setActiveAdapters(List.of());
                    adapters.deleteAdapter(name);
                    adapters.setActiveAdapters(active);
                    throw e;
                }
            }
            return adapters;
        });
    }

    /**
     * PEFT's {@code add_weighted_adapter} with its default combination: {@code svd} for LoRA adapters, the weighted
     * sum of the vectors for IA3 adapters (PEFT's {@code IA3Model.add_weighted_adapter}). The new adapter is not
     * activated; an existing {@code name} is left unchanged (logged), as in PEFT.
     *
     * @return whether the adapter was added
     */
    public static boolean addWeightedAdapter(Block model, List<String> adapters, List<Double> weights, String name) {
        ModelAdapters m = require(model);
        if (!adapters.isEmpty() && m.adapterNames().contains(adapters.get(0))
                && m.config(adapters.get(0)).peftType() == PeftType.IA3) {
            return Ia3WeightedAdapters.add(m, adapters, weights, name);
        }
        return WeightedAdapters.add(m, adapters, weights, name, Combination.SVD, CombineOptions.DEFAULTS);
    }

    /**
     * PEFT's {@code add_weighted_adapter}: adds adapter {@code name} combining LoRA {@code adapters} with
     * {@code weights} ({@code CAT}, {@code LINEAR} or {@code SVD}; SVD rank = the largest input rank). The new adapter
     * is not activated.
     */
    public static boolean addWeightedAdapter(Block model, List<String> adapters, List<Double> weights, String name,
            Combination combination) {
        return WeightedAdapters.add(require(model), adapters, weights, name, combination, CombineOptions.DEFAULTS);
    }

    /**
     * PEFT's {@code add_weighted_adapter} with every option: {@code combination_type} ({@link Combination}),
     * {@code svd_rank}, {@code svd_clamp}, {@code density}, {@code majority_sign_method} and DARE's seed
     * ({@link CombineOptions}). The new adapter is not activated; an existing {@code name} is left unchanged
     * (logged), as in PEFT.
     *
     * @return whether the adapter was added
     */
    public static boolean addWeightedAdapter(Block model, List<String> adapters, List<Double> weights, String name,
            Combination combination, CombineOptions options) {
        return WeightedAdapters.add(require(model), adapters, weights, name, combination, options);
    }

    /**
     * PEFT's {@code hotswap_adapter}: replaces the weights of the loaded LoRA adapter {@code name} with those in
     * {@code dir}, in place (same name, no re-injection, scalings from the new config; a smaller rank is zero-padded,
     * see {@link #prepareForHotswap}). The configs must be compatible as PEFT checks them, and the new adapter may
     * not target modules the loaded one does not. Forward passes see the old or the new weights, never a mix.
     *
     * @throws IllegalArgumentException with PEFT's message (nothing changed)
     */
    public static void hotswapAdapter(Block model, Path dir, String name) {
        AdapterConfig config = AdapterConfigs.read(dir);
        ModelAdapters adapters = require(model);
        Path file = dir.resolve(AdapterDirectory.WEIGHTS_FILE);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> stateDict = new LinkedHashMap<>();
            SafetensorsFile.read(file).tensors().forEach((key, tensor) -> stateDict.put(key,
                    TensorArrays.toNDArray(tensor.toFloat32(), manager)));
            LoraHotswap.hotswap(adapters, name, config, stateDict);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * PEFT's {@code hotswap_adapter_from_state_dict} (after {@code hotswap_adapter}'s config check): swaps
     * {@code stateDict} (PEFT's saved keys, e.g. {@code fc1.lora_A.weight}) into the loaded adapter {@code name}.
     */
    public static void hotswapAdapterFromStateDict(Block model, Map<String, NDArray> stateDict, String name,
            AdapterConfig config) {
        LoraHotswap.hotswap(require(model), name, config, stateDict);
    }

    /**
     * PEFT's {@code prepare_model_for_compiled_hotswap(model, target_rank=...)}: pads every LoRA adapter on a Linear
     * or Conv2d module with zeros to {@code targetRank} (outputs unchanged), so adapters of smaller ranks can be
     * hot-swapped in without changing a parameter's shape.
     *
     * @return how many layers were padded
     */
    public static int prepareForHotswap(Block model, int targetRank) {
        return LoraHotswap.prepare(require(model), targetRank);
    }

    /**
     * The adapters of a traced model (a TorchScript module loaded by DJL's PyTorch engine, load option
     * {@code trainParam=true}): {@link TracedModel#load}, {@link TracedModel#setActiveAdapters} (merged into the
     * weights in order), {@link TracedModel#unmerge}, {@link TracedModel#save}.
     *
     * @throws IllegalArgumentException when {@code model} is a block model (use {@link #injectAdapter})
     */
    public static TracedModel traced(Block model) {
        PeftInstrumentation.ensureInstalled();
        return TracedModels.forBlock(model);
    }

    /**
     * Merges adapters into a TorchScript file offline (the same as {@code java -jar peft4j-agent.jar merge}): loads
     * {@code model}, merges {@code adapters} (name to directory) in the map's order, writes {@code out} as TorchScript
     * or as safetensors of the merged parameters under PyTorch's names.
     */
    public static TorchScriptMerge.Result mergeIntoTorchScript(Path model, Map<String, Path> adapters, Path out,
            TorchScriptMerge.Format format) throws java.io.IOException {
        return TorchScriptMerge.merge(model, adapters, out, format);
    }

    /** As {@link #mergeIntoTorchScript(Path, Map, Path, TorchScriptMerge.Format)}, merging only {@code active}. */
    public static TorchScriptMerge.Result mergeIntoTorchScript(Path model, Map<String, Path> adapters,
            List<String> active, Path out, TorchScriptMerge.Format format) throws java.io.IOException {
        return TorchScriptMerge.merge(model, adapters, active, out, format);
    }

    /**
     * PEFT's {@code merge_and_unload()}: merges each module's active adapters into the base weights (safe merge:
     * refuses NaN/Inf), keeps the active {@code modules_to_save} copies as the modules' weights, and removes every
     * adapter. {@code model} is then a plain DJL model (no adapter parameters, no hooks) that runs and saves as one.
     *
     * @return {@code model}
     */
    public static Block mergeAndUnload(Block model) {
        return require(model).mergeAndUnload(null, true);
    }

    /**
     * PEFT's {@code merge_and_unload(safe_merge, adapter_names)}: as {@link #mergeAndUnload(Block)}, merging
     * {@code adapters} instead of the active ones.
     *
     * @return {@code model}
     */
    public static Block mergeAndUnload(Block model, List<String> adapters, boolean safeMerge) {
        return require(model).mergeAndUnload(adapters, safeMerge);
    }

    /**
     * PEFT's {@code unload()}: removes every adapter without merging and returns the base model
     * ({@code modules_to_save} modules keep their active copy, and weights merged earlier stay merged, as in PEFT).
     *
     * @return {@code model}
     */
    public static Block unload(Block model) {
        return require(model).unload();
    }

    /** The modules that carry adapters, by path. */
    public static Map<String, TunedModule> tunedModules(Block model) {
        return require(model).tunedModules();
    }

    private static ModelAdapters require(Block model) {
        ModelAdapters adapters = AdapterRegistry.model(model);
        if (adapters == null) {
            throw new IllegalStateException("no adapter was injected into this model ("
                    + model.getClass().getName() + ")");
        }
        return adapters;
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftType;
import io.peft4j.config.PythonRepr;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.log.PeftLog;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * PEFT 0.20's {@code utils/hotswap.py} for LoRA: replace the weights of a loaded adapter in place — same name, no
 * re-injection, the scaling of every module updated from the new config — and
 * {@code prepare_model_for_compiled_hotswap(target_rank=...)}, which pads every LoRA adapter on Linear and Conv2d
 * modules with zeros up to a rank that later, smaller adapters are swapped into.
 *
 * <p>As PEFT: the configs must agree on {@code use_rslora}, {@code lora_dropout}, {@code alpha_pattern} and
 * {@code use_dora} ({@code check_hotswap_configs_compatible}); a key the loaded adapter does not have is an error
 * (the new adapter may not target new modules); a module the new adapter lacks gets zero factors; a smaller rank is
 * copied into the leading rows of A and columns of B, the rest zeroed; a larger rank replaces the parameters (PEFT's
 * {@code swap_tensors}). Runs while no forward pass of the model runs: a concurrent pass sees the old or the new
 * adapter, never a mix. As in PEFT, the adapter keeps its config (the new one only gives the scalings).
 */
public final class LoraHotswap {

    /** The config keys PEFT compares ({@code CONFIG_KEYS_TO_CHECK[LORA]}). */
    private static final List<String> KEYS_TO_CHECK = List.of("use_rslora", "lora_dropout", "alpha_pattern",
            "use_dora");
    private static final PeftLog LOG = PeftLog.get(LoraHotswap.class);

    private LoraHotswap() {}

    /**
     * PEFT's {@code check_hotswap_configs_compatible}.
     *
     * @throws IllegalArgumentException with PEFT's message
     */
    public static void checkCompatible(AdapterConfig loaded, AdapterConfig incoming) {
        if (loaded.peftType() != incoming.peftType()) {
            throw new IllegalArgumentException("Incompatible PEFT types found: " + loaded.peftType().jsonName()
                    + " and " + incoming.peftType().jsonName());
        }
        if (loaded.peftType() != PeftType.LORA) {
            throw new IllegalArgumentException("Hotswapping only supports LORA but " + loaded.peftType().jsonName()
                    + " was passed.");
        }
        for (String key : KEYS_TO_CHECK) {
            Object a = loaded.jsonValue(key);
            Object b = incoming.jsonValue(key);
            if (!Objects.equals(normalise(a), normalise(b))) {
                throw new IllegalArgumentException("Configs are incompatible: for " + key + ", "
                        + PythonRepr.str(a) + " != " + PythonRepr.str(b));
            }
        }
    }

    private static Object normalise(Object value) {
        return value instanceof Number ? ((Number) value).doubleValue() : value;
    }

    /**
     * PEFT's {@code hotswap_adapter_from_state_dict} (plus the config check {@code hotswap_adapter} does first):
     * swaps {@code stateDict} (PEFT's saved keys, e.g. {@code fc1.lora_A.weight}, with or without
     * {@code base_model.model.}) into adapter {@code name}, whose config becomes {@code config}.
     *
     * @throws IllegalArgumentException with PEFT's message when the adapters are not compatible; nothing changed
     */
    public static void hotswap(ModelAdapters model, String name, AdapterConfig config, Map<String, NDArray> stateDict) {
        model.exclusive(() -> {
            doHotswap(model, name, config, stateDict);
            return null;
        });
    }

    private static void doHotswap(ModelAdapters model, String name, AdapterConfig config,
            Map<String, NDArray> stateDict) {
        if (!model.adapterNames().contains(name)) {
            throw new IllegalArgumentException("cannot hot-swap adapter '" + name + "': the model has no such adapter "
                    + "(adapters: " + model.adapterNames() + ")");
        }
        AdapterConfig loaded = model.config(name);
        checkCompatible(loaded, config);
        LoraConfig lora = (LoraConfig) config;
        LinkedHashMap<String, Parameter> parameters = PeftStateDicts.namedParameters(model);
        Set<String> missing = new LinkedHashSet<>(
                PeftStateDicts.modelKeys(model, name, PeftStateDicts.adapterStateDict(model, name).keySet()).values());
        Map<String, String> incoming = PeftStateDicts.modelKeys(model, name, stateDict.keySet());
        List<String> unexpected = new ArrayList<>();
        Map<String, NDArray> targets = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            String key = incoming.get(e.getKey());
            if (!parameters.containsKey(key) || !missing.contains(key)) {
                unexpected.add(e.getKey());
                continue;
            }
            missing.remove(key);
            targets.put(key, e.getValue());
        }
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException("Hot swapping the adapter did not succeed, unexpected keys found: "
                    + String.join(", ", unexpected) + ".");
        }
        List<TunedModule> modules = new ArrayList<>(model.tunedModules().values());
        // dry run: every shape must fit before anything changes
        for (Map.Entry<String, NDArray> e : targets.entrySet()) {
            plan(e.getKey(), parameters.get(e.getKey()).getArray(), e.getValue(),
                    owner(modules, name, e.getKey()).adapter(name));
        }
        for (String key : missing) {
            NDArray array = parameters.get(key).getArray();
            try (NDArray zeros = array.zerosLike()) {
                WeightUpdate.copyInto(array, zeros);
            }
        }
        Set<TunedModule> rescaled = new LinkedHashSet<>();
        for (Map.Entry<String, NDArray> e : targets.entrySet()) {
            TunedModule module = owner(modules, name, e.getKey());
            ModuleAdapter adapter = module.adapter(name);
            if (adapter instanceof LowRankFactors && rescaled.add(module)) {
                ((LowRankFactors) adapter).setScaling(lora.scalingFor(module.path()));
            }
            Parameter parameter = PeftStateDicts.namedParameters(model).get(e.getKey());
            NDArray old = parameter.getArray();
            NDArray value = e.getValue();
            switch (plan(e.getKey(), old, value, adapter)) {
                case SAME:
                    WeightUpdate.copyInto(old, value);
                    break;
                case SMALLER:
                    copySmaller(old, value);
                    break;
                default:
                    LowRankFactors factors = (LowRankFactors) adapter;
                    factors.padRank((int) (isA(e.getKey()) ? value.getShape().get(0) : value.getShape().get(1)));
                    Parameter grown = PeftStateDicts.namedParameters(model).get(e.getKey());
                    if (grown.getArray().getShape().equals(value.getShape())) {
                        WeightUpdate.copyInto(grown.getArray(), value);
                    } else {
                        copySmaller(grown.getArray(), value);
                    }
            }
        }
        LOG.info("hot-swapped adapter '{}': {} tensors replaced in place, {} zeroed (modules the new adapter lacks)",
                name, targets.size(), missing.size());
    }

    private enum Fit { SAME, SMALLER, LARGER }

    private static Fit plan(String key, NDArray old, NDArray value, ModuleAdapter adapter) {
        long[] o = old.getShape().getShape();
        long[] n = value.getShape().getShape();
        if (Arrays.equals(o, n)) {
            return Fit.SAME;
        }
        boolean smaller = o.length == n.length;
        boolean larger = o.length == n.length;
        for (int i = 0; i < o.length && i < n.length; i++) {
            smaller &= o[i] >= n[i];
            larger &= o[i] <= n[i];
        }
        if (smaller) {
            if (o.length != 2 && o.length != 4) {
                throw new IllegalArgumentException("Trying to hotswap an adapter whose weight has " + o.length
                        + " dimensions, but only Conv2d and Linear are supported");
            }
            if (o[0] > n[0] || o[1] > n[1]) {
                return Fit.SMALLER;
            }
        }
        if (larger && adapter instanceof LowRankFactors
                && (key.contains(".lora_A.") || key.contains(".lora_B.") || key.contains(".lora_embedding_"))) {
            return Fit.LARGER;
        }
        throw new IllegalArgumentException("Incompatible shapes found for LoRA weights " + key + ": "
                + old.getShape() + " vs " + value.getShape() + ". Please ensure that all ranks are padded to the "
                + "largest rank among all LoRA adapters by using peft.utils.hotswap.prepare_model_for_compiled_hotswap"
                + " (peft4j: Peft.prepareForHotswap).");
    }

    private static boolean isA(String key) {
        return key.contains(".lora_A.") || key.contains(".lora_embedding_A.");
    }

    /** Zeroes {@code old} and copies {@code value} into its leading block (PEFT's {@code new_is_smaller}). */
    private static void copySmaller(NDArray old, NDArray value) {
        try (NDArray padded = LowRankFactors.zeroPadded(value, old.getShape().getShape())) {
            WeightUpdate.copyInto(old, padded);
        }
    }

    private static TunedModule owner(List<TunedModule> modules, String name, String key) {
        TunedModule best = null;
        for (TunedModule m : modules) {
            if (key.startsWith(m.path() + ".") && m.adapter(name) != null
                    && (best == null || m.path().length() > best.path().length())) {
                best = m;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("Hot swapping the adapter did not succeed, unexpected keys found: "
                    + key + ".");
        }
        return best;
    }

    /**
     * PEFT's {@code prepare_model_for_compiled_hotswap(model, target_rank=...)}: pads the factors of every LoRA
     * adapter on a Linear or Conv2d module with zeros to {@code targetRank}, so adapters of any rank up to it can be
     * swapped in later without changing parameter shapes. Outputs do not change.
     *
     * @throws IllegalArgumentException with PEFT's messages (a larger loaded rank; no LoRA layer)
     */
    public static int prepare(ModelAdapters model, int targetRank) {
        return model.exclusive(() -> {
            int padded = 0;
            List<LowRankFactors> adapters = new ArrayList<>();
            for (TunedModule module : model.tunedModules().values()) {
                for (ModuleAdapter a : module.adapters().values()) {
                    if (a instanceof LoraLinear || (a instanceof LoraConvolution
                            && ((LoraConvolution) a).loraA().getArray().getShape().dimension() == 4)) {
                        adapters.add((LowRankFactors) a);
                        if (a.rank() > targetRank) {
                            throw new IllegalArgumentException("Trying to pad the adapter to the target rank "
                                    + targetRank + ", but the original rank is larger (" + a.rank() + "). This is "
                                    + "not possible.");
                        }
                    }
                }
            }
            if (adapters.isEmpty()) {
                throw new IllegalArgumentException("No adapter layers found on the model, make sure call "
                        + "`prepare_model_for_compiled_hotswap` after loading the first adapter and before loading "
                        + "the second adapter.");
            }
            for (LowRankFactors a : adapters) {
                if (a.rank() < targetRank) {
                    a.padRank(targetRank);
                    padded++;
                }
            }
            LOG.info("prepared for hot-swap: {} LoRA layers padded with zeros to rank {}", padded, targetRank);
            return padded;
        });
    }
}

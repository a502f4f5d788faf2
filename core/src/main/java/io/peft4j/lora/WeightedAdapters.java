package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.peft4j.config.AdapterConfig;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.SavedModule;
import io.peft4j.tuner.TunedModule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * PEFT 0.20's {@code LoraModel.add_weighted_adapter}: a new LoRA adapter made from existing ones with any
 * {@link Combination} ({@code cat}, {@code linear}, {@code svd}, {@code ties}, {@code dare_linear}, {@code dare_ties},
 * {@code magnitude_prune} and the {@code _svd} forms). The new adapter's config is the first adapter's with
 * {@code r = lora_alpha = new rank}, the union of the target modules and no rank/alpha patterns (so its scaling is 1
 * and every weight and scaling is baked into its factors). It is added but not activated (as in PEFT); the active
 * adapters stay as they were. A name that already exists is left unchanged, as PEFT does (peft4j logs it).
 *
 * <p>The math per module is {@link CombinationPlan}'s, shared with the offline {@link AdapterCombiner}.
 */
public final class WeightedAdapters {

    private static final PeftLog LOG = PeftLog.get(WeightedAdapters.class);

    private WeightedAdapters() {}

    /** {@link #add(ModelAdapters, List, List, String, Combination, CombineOptions)} with an SVD rank and clamp. */
    public static void add(ModelAdapters model, List<String> adapters, List<Double> weights, String name,
            Combination combination, Integer svdRank, Double svdClamp) {
        add(model, adapters, weights, name, combination,
                CombineOptions.DEFAULTS.withSvdRank(svdRank).withSvdClamp(svdClamp));
    }

    /**
     * Adds adapter {@code name} to {@code model}, combining LoRA {@code adapters} with {@code weights}.
     *
     * @return whether the adapter was added ({@code false}: the name existed, nothing changed)
     * @throws IllegalArgumentException with PEFT's message when the arguments do not fit the adapters
     */
    public static boolean add(ModelAdapters model, List<String> adapters, List<Double> weights, String name,
            Combination combination, CombineOptions options) {
        return model.exclusive(() -> doAdd(model, adapters, weights, name, combination, options));
    }

    private static boolean doAdd(ModelAdapters model, List<String> adapters, List<Double> weights, String name,
            Combination requested, CombineOptions options) {
        if (model.adapterNames().contains(name)) {
            LOG.warn("add_weighted_adapter: adapter '{}' already exists; nothing changed (as in PEFT)", name);
            return false;
        }
        List<AdapterConfig> configs = new ArrayList<>();
        for (String adapter : adapters) {
            if (!model.adapterNames().contains(adapter)) {
                throw new IllegalArgumentException("Adapter " + adapter + " does not exist");
            }
            configs.add(model.config(adapter));
        }
        for (SavedModule saved : model.savedModules().values()) {
            if (saved.adapters().stream().filter(adapters::contains).count() > 1) {
                throw new IllegalArgumentException("Cannot add weighted adapters if they target the same module "
                        + "with modules_to_save, but found 1 such instance(s).");
            }
        }
        CombinationPlan plan = CombinationPlan.of(adapters, configs, weights, requested, options);
        List<String> previouslyActive = model.activeAdapters();
        model.inject(plan.config, name);
        try {
            for (TunedModule module : model.tunedModules().values()) {
                ModuleAdapter target = module.adapter(name);
                if (!(target instanceof LowRankAdapter)) {
                    continue;
                }
                List<LoraFactors> sources = new ArrayList<>();
                List<Double> sourceWeights = new ArrayList<>();
                for (int i = 0; i < adapters.size(); i++) {
                    ModuleAdapter source = module.adapter(adapters.get(i));
                    if (source instanceof LowRankAdapter) {
                        sources.add(factors((LowRankAdapter) source));
                        sourceWeights.add(weights.get(i));
                    }
                }
                write((LowRankAdapter) target, plan.combine(module.path(), sources, sourceWeights), module.path());
            }
        } catch (RuntimeException e) {
            model.deleteAdapter(name);
            model.setActiveAdapters(previouslyActive);
            throw e;
        }
        model.setActiveAdapters(previouslyActive);
        LOG.info("added adapter '{}': {} of {} with weights {}; activate it to use it", name, plan.describe(),
                adapters, weights);
        return true;
    }

    private static LoraFactors factors(LowRankAdapter adapter) {
        NDArray a = adapter.loraA().getArray();
        NDArray b = adapter.loraB().getArray();
        return new LoraFactors(a.toFloatArray(), a.getShape().getShape(), b.toFloatArray(),
                b.getShape().getShape(), adapter.scaling());
    }

    private static void write(LowRankAdapter target, LoraFactors combined, String path) {
        NDArray a = target.loraA().getArray();
        NDArray b = target.loraB().getArray();
        if (!Arrays.equals(a.getShape().getShape(), combined.aShape())
                || !Arrays.equals(b.getShape().getShape(), combined.bShape())) {
            throw new IllegalArgumentException("add_weighted_adapter: module '" + path + "' combines to " + combined
                    + " but the new adapter has A " + a.getShape() + " and B " + b.getShape() + " there (the "
                    + "adapters' rank_pattern gives this module another rank)");
        }
        try (NDArray newA = a.getManager().create(combined.a(), new Shape(combined.aShape()));
                NDArray newB = b.getManager().create(combined.b(), new Shape(combined.bShape()))) {
            WeightUpdate.copyInto(a, newA);
            WeightUpdate.copyInto(b, newB);
        }
    }
}

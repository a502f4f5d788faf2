package io.peft4j.ia3;

import ai.djl.ndarray.NDArray;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftType;
import io.peft4j.config.TargetModules;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.SavedModule;
import io.peft4j.tuner.TunedModule;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * PEFT 0.20's {@code IA3Model.add_weighted_adapter}: a new IA3 adapter whose vectors are {@code sum_i w_i l_i} (no
 * combination type), with the first adapter's config, the union of {@code target_modules} and of
 * {@code feedforward_modules}. Added, not activated; an existing name is left unchanged (logged), as in PEFT.
 */
public final class Ia3WeightedAdapters {

    private static final PeftLog LOG = PeftLog.get(Ia3WeightedAdapters.class);

    private Ia3WeightedAdapters() {}

    /**
     * Adds IA3 adapter {@code name} to {@code model}: the weighted sum of IA3 {@code adapters}.
     *
     * @return whether it was added ({@code false}: the name existed, nothing changed)
     */
    public static boolean add(ModelAdapters model, List<String> adapters, List<Double> weights, String name) {
        return model.exclusive(() -> doAdd(model, adapters, weights, name));
    }

    private static boolean doAdd(ModelAdapters model, List<String> adapters, List<Double> weights, String name) {
        if (model.adapterNames().contains(name)) {
            LOG.warn("add_weighted_adapter: adapter '{}' already exists; nothing changed (as in PEFT)", name);
            return false;
        }
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("add_weighted_adapter needs one weight per adapter (adapters "
                    + adapters + ", weights " + weights + ")");
        }
        List<IA3Config> configs = new ArrayList<>();
        for (String adapter : adapters) {
            if (!model.adapterNames().contains(adapter)) {
                throw new IllegalArgumentException("Adapter " + adapter + " does not exist");
            }
            AdapterConfig config = model.config(adapter);
            if (config.peftType() != PeftType.IA3) {
                throw new IllegalArgumentException("IA3 add_weighted_adapter combines IA3 adapters; '" + adapter
                        + "' is " + config.peftType().jsonName());
            }
            configs.add((IA3Config) config);
        }
        for (SavedModule saved : model.savedModules().values()) {
            if (saved.adapters().stream().filter(adapters::contains).count() > 1) {
                throw new IllegalArgumentException("Cannot add weighted adapters targeting the same module with "
                        + "modules_to_save.");
            }
        }
        IA3Config config = combinedConfig(configs);
        List<String> previouslyActive = model.activeAdapters();
        model.inject(config, name);
        try {
            for (TunedModule module : model.tunedModules().values()) {
                ModuleAdapter target = module.adapter(name);
                if (!(target instanceof Ia3Adapter)) {
                    continue;
                }
                NDArray vector = ((Ia3Adapter) target).vector().getArray();
                NDArray sum = vector.zerosLike();
                for (int i = 0; i < adapters.size(); i++) {
                    ModuleAdapter source = module.adapter(adapters.get(i));
                    if (source instanceof Ia3Adapter) {
                        NDArray l = ((Ia3Adapter) source).vector().getArray();
                        if (!l.getShape().equals(vector.getShape())) {
                            throw new IllegalArgumentException("IA3 add_weighted_adapter: module '" + module.path()
                                    + "' has ia3_l " + l.getShape() + " in '" + adapters.get(i) + "' but "
                                    + vector.getShape() + " in the new adapter");
                        }
                        NDArray next = sum.add(Scalars.mul(l, weights.get(i).doubleValue()));
                        sum.close();
                        sum = next;
                    }
                }
                WeightUpdate.copyInto(vector, sum);
                sum.close();
            }
        } catch (RuntimeException e) {
            model.deleteAdapter(name);
            model.setActiveAdapters(previouslyActive);
            throw e;
        }
        model.setActiveAdapters(previouslyActive);
        LOG.info("added IA3 adapter '{}': weighted sum of {} with weights {}; activate it to use it", name,
                adapters, weights);
        return true;
    }

    /** {@code replace(first, target_modules=union, feedforward_modules=union)} as PEFT's IA3 model builds it. */
    private static IA3Config combinedConfig(List<IA3Config> configs) {
        Set<Boolean> targetKinds = new HashSet<>();
        Set<Boolean> feedforwardKinds = new HashSet<>();
        for (IA3Config c : configs) {
            targetKinds.add(c.targetModules() != null && c.targetModules().isRegex());
            feedforwardKinds.add(c.feedforwardModules() != null && c.feedforwardModules().isRegex());
        }
        if (targetKinds.size() > 1 || feedforwardKinds.size() > 1) {
            throw new IllegalArgumentException("All adapter configs should have the same type for target and "
                    + "feedforward modules.");
        }
        IA3Config first = configs.get(0);
        return first.withTargetModules(union(configs, IA3Config::targetModules))
                .withFeedforwardModules(union(configs, IA3Config::feedforwardModules));
    }

    private static TargetModules union(List<IA3Config> configs, Function<IA3Config, TargetModules> field) {
        TargetModules first = field.apply(configs.get(0));
        if (first == null) {
            return null;
        }
        if (first.isRegex()) {
            StringBuilder sb = new StringBuilder();
            for (IA3Config c : configs) {
                sb.append(sb.length() == 0 ? "" : "|").append('(').append(field.apply(c).regex()).append(')');
            }
            return TargetModules.ofRegex(sb.toString());
        }
        Set<String> names = new LinkedHashSet<>();
        for (IA3Config c : configs) {
            TargetModules t = field.apply(c);
            if (t != null) {
                names.addAll(t.names());
            }
        }
        return TargetModules.ofNames(new ArrayList<>(names));
    }
}

package io.peft4j.lora;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftType;
import io.peft4j.config.TargetModules;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * What PEFT 0.20's {@code add_weighted_adapter} decides before touching a module ({@code _check_add_weighted_adapter}
 * and the new config): the effective combination ({@code linear} for one adapter), the new rank, the combined
 * adapter's config, and DARE's seed. Needs no model, so the offline CLI uses it too.
 */
final class CombinationPlan {

    final Combination combination;
    final int newRank;
    final LoraConfig config;
    final CombineOptions options;
    final long seed;

    private CombinationPlan(Combination combination, int newRank, LoraConfig config, CombineOptions options,
            long seed) {
        this.combination = combination;
        this.newRank = newRank;
        this.config = config;
        this.options = options;
        this.seed = seed;
    }

    /**
     * Checks the arguments as PEFT does and plans the combination.
     *
     * @param adapters the names of the adapters (for messages)
     * @param configs their configs
     * @throws IllegalArgumentException with PEFT's message when they do not fit
     */
    static CombinationPlan of(List<String> adapters, List<? extends AdapterConfig> configs, List<Double> weights,
            Combination requested, CombineOptions options) {
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("add_weighted_adapter needs one weight per adapter (adapters "
                    + adapters + ", weights " + weights + ")");
        }
        List<LoraConfig> loras = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            AdapterConfig config = configs.get(i);
            if (config.peftType() != PeftType.LORA) {
                throw new IllegalArgumentException("add_weighted_adapter with a combination_type combines LoRA "
                        + "adapters; '" + adapters.get(i) + "' is " + config.peftType().jsonName());
            }
            loras.add((LoraConfig) config);
        }
        Combination combination = adapters.size() == 1 ? Combination.LINEAR : requested;
        checkOptions(combination, options);
        int newRank = newRank(loras, combination, options.svdRank());
        long seed = options.seed() != null ? options.seed()
                : combination.isRandom() ? new SplittableRandom().nextLong() : 0L;
        return new CombinationPlan(combination, newRank, combinedConfig(loras, newRank), options, seed);
    }

    /** Options a combination needs: {@code density} (PEFT fails without it), a clamp within [0, 1]. */
    private static void checkOptions(Combination combination, CombineOptions options) {
        if (combination.usesDensity() && options.density() == null) {
            throw new IllegalArgumentException("combination_type " + combination.peftName() + " needs density "
                    + "(the fraction of entries to keep, 0 to 1)");
        }
        if (combination.usesDensity() && options.density() < 0) {
            throw new IllegalArgumentException("Density should be >= 0, got " + options.density());
        }
        if (options.svdClamp() != null && !(options.svdClamp() >= 0 && options.svdClamp() <= 1)) {
            throw new IllegalArgumentException("svd_clamp is a quantile: quantile() q must be in the range [0, 1] "
                    + "but got " + options.svdClamp());
        }
        if (options.svdRank() != null && options.svdRank() < 0) {
            throw new IllegalArgumentException("svd_rank must be positive, got " + options.svdRank());
        }
    }

    /** PEFT's rank rules: the common rank, the sum ({@code cat}), or {@code svd_rank or max(ranks)}. */
    private static int newRank(List<LoraConfig> configs, Combination combination, Integer svdRank) {
        List<Integer> ranks = new ArrayList<>();
        for (LoraConfig c : configs) {
            int r = c.r();
            for (int v : c.rankPattern().values()) {
                r = Math.max(r, v);
            }
            ranks.add(r);
        }
        if (combination.needsSameRank()) {
            if (new LinkedHashSet<>(ranks).size() != 1) {
                throw new IllegalArgumentException("All adapters must have the same r value when using "
                        + "combination_type linear, ties, dare_ties or dare_linear.");
            }
            return ranks.get(0);
        }
        if (combination == Combination.CAT) {
            return ranks.stream().mapToInt(Integer::intValue).sum();
        }
        // PEFT: `svd_rank or max(ranks)`, so 0 means "not given"
        return svdRank != null && svdRank != 0 ? svdRank
                : ranks.stream().mapToInt(Integer::intValue).max().getAsInt();
    }

    /**
     * The combined adapter's config as PEFT writes it: {@code dataclasses.replace(first, r=new_rank,
     * lora_alpha=new_rank, target_modules=union, alpha_pattern={}, rank_pattern={})}.
     */
    private static LoraConfig combinedConfig(List<LoraConfig> configs, int newRank) {
        boolean regex = configs.get(0).targetModules().isRegex();
        for (LoraConfig c : configs) {
            if (c.targetModules().isRegex() != regex) {
                throw new IllegalArgumentException("all adapter configs should follow the same target modules type. "
                        + "Combining adapters with `target_modules` type being a mix of list/set and string is not "
                        + "supported.");
            }
        }
        TargetModules targets;
        if (regex) {
            StringBuilder sb = new StringBuilder();
            for (LoraConfig c : configs) {
                sb.append(sb.length() == 0 ? "" : "|").append('(').append(c.targetModules().regex()).append(')');
            }
            targets = TargetModules.ofRegex(sb.toString());
        } else {
            Set<String> names = new LinkedHashSet<>();
            configs.forEach(c -> names.addAll(c.targetModules().names()));
            targets = TargetModules.ofNames(new ArrayList<>(names));
        }
        Map<String, Object> json = configs.get(0).toJsonMap();
        json.put("r", newRank);
        json.put("lora_alpha", newRank);
        json.put("rank_pattern", Map.of());
        json.put("alpha_pattern", Map.of());
        LoraConfig parsed = (LoraConfig) AdapterConfigs.fromJsonMap(json, "add_weighted_adapter");
        return (LoraConfig) parsed.withTargetModules(targets);
    }

    /** The combined factors of the module at {@code path}. */
    LoraFactors combine(String path, List<LoraFactors> sources, List<Double> weights) {
        return FactorCombiner.combine(path, sources, weights, combination, newRank, options, random(path));
    }

    /** DARE's mask source for one module: depends on the seed and the module's path, not on the order of modules. */
    private SplittableRandom random(String path) {
        return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (path.hashCode() + 1L)));
    }

    /** How the combination is described in logs: {@code ties (density=0.5, majority_sign_method=total), r=4}. */
    String describe() {
        StringBuilder sb = new StringBuilder(combination.peftName()).append(" (r=").append(newRank);
        if (combination.usesDensity()) {
            sb.append(", density=").append(options.density());
        }
        if (combination.usesMajoritySign()) {
            sb.append(", majority_sign_method=").append(options.majoritySign().peftName());
        }
        if (combination.isSvd() && options.svdClamp() != null) {
            sb.append(", svd_clamp=").append(options.svdClamp());
        }
        if (combination.isRandom()) {
            sb.append(", seed=").append(seed);
        }
        return sb.append(')').toString();
    }
}

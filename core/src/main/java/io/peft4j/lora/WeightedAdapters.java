package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftType;
import io.peft4j.config.TargetModules;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.linalg.LowRankSvd;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.SavedModule;
import io.peft4j.tuner.TunedModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * PEFT's {@code add_weighted_adapter}: a new LoRA adapter made from existing ones ({@link Combination}). The new
 * adapter's config is the first adapter's with {@code r = lora_alpha = new rank}, the union of the target modules and
 * no rank/alpha patterns. It is added but not activated (as in PEFT); the active adapters stay as they were.
 *
 * <p>As in PEFT, the SVD combination weighs each adapter's delta ({@code B A * scaling}) by {@code weight * scaling},
 * so its scaling counts twice; {@code cat} and {@code linear} count it once.
 */
public final class WeightedAdapters {

    private static final PeftLog LOG = PeftLog.get(WeightedAdapters.class);

    private WeightedAdapters() {}

    /**
     * Adds adapter {@code name} to {@code model}, combining {@code adapters} with {@code weights}.
     *
     * @param svdRank the rank of an SVD combination, or {@code null} for the largest input rank
     * @param svdClamp the quantile to clamp SVD factors at, or {@code null}
     */
    public static void add(ModelAdapters model, List<String> adapters, List<Double> weights, String name,
            Combination combination, Integer svdRank, Double svdClamp) {
        model.exclusive(() -> {
            doAdd(model, adapters, weights, name, combination, svdRank, svdClamp);
            return null;
        });
    }

    private static void doAdd(ModelAdapters model, List<String> adapters, List<Double> weights, String name,
            Combination requested, Integer svdRank, Double svdClamp) {
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("add_weighted_adapter needs one weight per adapter (adapters "
                    + adapters + ", weights " + weights + ")");
        }
        if (model.adapterNames().contains(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists on this model");
        }
        List<LoraConfig> configs = new ArrayList<>();
        for (String adapter : adapters) {
            if (!model.adapterNames().contains(adapter)) {
                throw new IllegalArgumentException("Adapter " + adapter + " does not exist");
            }
            AdapterConfig config = model.config(adapter);
            if (config.peftType() != PeftType.LORA) {
                throw new IllegalArgumentException("add_weighted_adapter combines LoRA adapters; '" + adapter
                        + "' is " + config.peftType().jsonName());
            }
            configs.add((LoraConfig) config);
        }
        for (SavedModule saved : model.savedModules().values()) {
            if (saved.adapters().stream().filter(adapters::contains).count() > 1) {
                throw new IllegalArgumentException("Cannot add weighted adapters if they target the same module "
                        + "with modules_to_save, but found 1 such instance(s).");
            }
        }
        Combination combination = adapters.size() == 1 ? Combination.LINEAR : requested;
        List<Integer> ranks = new ArrayList<>();
        for (LoraConfig c : configs) {
            int r = c.r();
            for (int v : c.rankPattern().values()) {
                r = Math.max(r, v);
            }
            ranks.add(r);
        }
        int newRank;
        switch (combination) {
            case LINEAR:
                if (new LinkedHashSet<>(ranks).size() != 1) {
                    throw new IllegalArgumentException("All adapters must have the same r value when using "
                            + "combination_type linear, ties, dare_ties or dare_linear.");
                }
                newRank = ranks.get(0);
                break;
            case CAT:
                newRank = ranks.stream().mapToInt(Integer::intValue).sum();
                break;
            default:
                newRank = svdRank != null ? svdRank : ranks.stream().mapToInt(Integer::intValue).max().getAsInt();
        }
        LoraConfig config = newConfig(configs, newRank);
        List<String> previouslyActive = model.activeAdapters();
        model.inject(config, name);
        for (TunedModule module : model.tunedModules().values()) {
            ModuleAdapter target = module.adapter(name);
            if (!(target instanceof LowRankAdapter)) {
                continue;
            }
            List<LowRankAdapter> sources = new ArrayList<>();
            List<Double> sourceWeights = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                ModuleAdapter source = module.adapter(adapters.get(i));
                if (source instanceof LowRankAdapter) {
                    sources.add((LowRankAdapter) source);
                    sourceWeights.add(weights.get(i));
                }
            }
            if (sources.isEmpty()) {
                throw new IllegalStateException("No matching LoRAs found for module '" + module.path() + "'.");
            }
            combine((LowRankAdapter) target, sources, sourceWeights, combination, newRank, svdClamp);
        }
        model.setActiveAdapters(previouslyActive);
        LOG.info("added adapter '{}' ({} of {} with weights {}, r={}); activate it to use it", name,
                combination.name().toLowerCase(java.util.Locale.ROOT), adapters, weights, newRank);
    }

    private static LoraConfig newConfig(List<LoraConfig> configs, int newRank) {
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
        try {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode json = (ObjectNode) mapper.readTree(AdapterConfigs.toJson(configs.get(0)));
            json.put("r", newRank);
            json.put("lora_alpha", newRank);
            json.set("rank_pattern", mapper.createObjectNode());
            json.set("alpha_pattern", mapper.createObjectNode());
            LoraConfig parsed = (LoraConfig) AdapterConfigs.parse(mapper.writeValueAsString(json),
                    "add_weighted_adapter");
            return (LoraConfig) parsed.withTargetModules(targets);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void combine(LowRankAdapter target, List<LowRankAdapter> sources, List<Double> weights,
            Combination combination, int newRank, Double svdClamp) {
        NDArray targetA = target.loraA().getArray();
        NDArray targetB = target.loraB().getArray();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray newA;
            NDArray newB;
            if (combination == Combination.CAT) {
                NDList as = new NDList();
                NDList bs = new NDList();
                for (int i = 0; i < sources.size(); i++) {
                    LowRankAdapter s = sources.get(i);
                    as.add(s.loraA().getArray().mul((float) (weights.get(i) * s.scaling())));
                    bs.add(s.loraB().getArray());
                }
                NDArray a = NDArrays.concat(as, 0);
                NDArray b = NDArrays.concat(bs, 1);
                newA = targetA.zerosLike();
                newB = targetB.zerosLike();
                newA.set(new NDIndex("0:" + a.getShape().get(0)), a);
                newB.set(new NDIndex(":, 0:" + b.getShape().get(1)), b);
            } else if (combination == Combination.LINEAR) {
                newA = targetA.zerosLike();
                newB = targetB.zerosLike();
                for (int i = 0; i < sources.size(); i++) {
                    LowRankAdapter s = sources.get(i);
                    double ws = weights.get(i) * s.scaling();
                    double root = Math.sqrt(Math.abs(ws));
                    newA = newA.add(s.loraA().getArray().mul((float) (ws >= 0 ? root : -root)));
                    newB = newB.add(s.loraB().getArray().mul((float) root));
                }
            } else {
                NDArray[] factors = svd(sources, weights, newRank, svdClamp, targetA, targetB);
                newA = factors[0];
                newB = factors[1];
            }
            WeightUpdate.copyInto(targetA, newA);
            WeightUpdate.copyInto(targetB, newB);
        }
    }

    /** PEFT's SVD combination as factors {@code [A, B]} in the target's shapes. */
    private static NDArray[] svd(List<LowRankAdapter> sources, List<Double> weights, int newRank, Double clamp,
            NDArray targetA, NDArray targetB) {
        List<double[][]> bs = new ArrayList<>();
        List<double[][]> as = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < sources.size(); i++) {
            LowRankAdapter s = sources.get(i);
            double c = weights.get(i) * s.scaling() * s.scaling();
            double[][] b = matrix(s.loraB().getArray(), 1, c);
            double[][] a = matrix(s.loraA().getArray(), 0, 1);
            bs.add(b);
            as.add(a);
            total += a.length;
        }
        int m = bs.get(0).length;
        int n = as.get(0)[0].length;
        double[][] bCat = new double[m][total];
        double[][] aCat = new double[total][];
        int offset = 0;
        for (int i = 0; i < bs.size(); i++) {
            double[][] b = bs.get(i);
            for (int row = 0; row < m; row++) {
                System.arraycopy(b[row], 0, bCat[row], offset, b[row].length);
            }
            for (double[] row : as.get(i)) {
                aCat[offset++] = row;
            }
        }
        LowRankSvd.Result result = LowRankSvd.truncated(bCat, aCat, newRank);
        if (clamp != null) {
            LowRankSvd.clamp(result, clamp);
        }
        float[] left = new float[m * newRank];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < newRank; j++) {
                left[i * newRank + j] = (float) result.left()[i][j];
            }
        }
        float[] right = new float[newRank * n];
        for (int i = 0; i < newRank; i++) {
            for (int j = 0; j < n; j++) {
                right[i * n + j] = (float) result.right()[i][j];
            }
        }
        NDArray a = targetA.getManager().create(right, new Shape(newRank, n)).reshape(targetA.getShape());
        NDArray b = targetB.getManager().create(left, new Shape(m, newRank)).reshape(targetB.getShape());
        return new NDArray[] {a, b};
    }

    /**
     * A factor as a matrix times {@code factor}: A ({@code axis 0} = rank) as {@code [r, rest]}, B ({@code axis 1} =
     * rank) as {@code [out, r]}.
     */
    private static double[][] matrix(NDArray array, int rankAxis, double factor) {
        Shape shape = array.getShape();
        long rows = rankAxis == 0 ? shape.get(0) : shape.get(0);
        long cols = shape.size() / rows;
        float[] values = array.toFloatArray();
        double[][] out = new double[(int) rows][(int) cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = values[(int) (i * cols + j)] * factor;
            }
        }
        return out;
    }
}

package io.peft4j.adalora;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA's rank allocator, step for step as PEFT's {@code RankAllocator}: a cubic budget schedule from the initial
 * budget (sum of all ranks) down to {@code target_r} per module, importance of every rank from the EMA-smoothed
 * sensitivity {@code |p * grad|} ({@code beta1}) times its uncertainty ({@code beta2}), and masking of the least
 * important singular values to meet the budget. Pure Java on float arrays: {@link AdaLoraTraining} feeds it the
 * values and gradients of each module's A, E and B.
 */
public final class RankAllocator {

    /** The values and gradients of one module's factors, row-major. */
    public record ModuleState(int r, int in, int out, float[] a, float[] gradA, float[] e, float[] gradE, float[] b,
            float[] gradB) {}

    /**
     * The budget at a step and whether to mask at it.
     *
     * @param budget the number of ranks to keep over all modules
     * @param mask whether this step masks
     */
    public record Budget(int budget, boolean mask) {}

    private final int tinit;
    private final int tfinal;
    private final int totalStep;
    private final int deltaT;
    private final double beta1;
    private final double beta2;
    private final int initBudget;
    private final int targetBudget;
    private final Map<String, float[]> expAvgIpt = new HashMap<>();
    private final Map<String, float[]> expAvgUnc = new HashMap<>();

    /**
     * Creates the allocator for modules with ranks {@code ranks} (by module path).
     *
     * @throws IllegalArgumentException when {@code total_step} is missing, as PEFT
     */
    public RankAllocator(AdaLoraConfig config, Map<String, Integer> ranks) {
        if (config.totalStep() == null || config.totalStep() <= 0) {
            throw new IllegalArgumentException(
                    "AdaLoRA does not work when `total_step` is None, supply a value > 0.");
        }
        this.tinit = config.tinit();
        this.tfinal = config.tfinal();
        this.totalStep = config.totalStep();
        this.deltaT = config.deltaT();
        this.beta1 = config.beta1();
        this.beta2 = config.beta2();
        this.initBudget = ranks.values().stream().mapToInt(Integer::intValue).sum();
        this.targetBudget = config.targetR() * ranks.size();
    }

    /** The sum of all modules' initial ranks. */
    public int initBudget() {
        return initBudget;
    }

    /** {@code target_r} times the number of modules. */
    public int targetBudget() {
        return targetBudget;
    }

    /** PEFT's {@code budget_schedule}: warm-up, cubic decrease, final phase. */
    public Budget budgetSchedule(int step) {
        if (step <= tinit) {
            return new Budget(initBudget, false);
        }
        if (step > totalStep - tfinal) {
            return new Budget(targetBudget, true);
        }
        double mulCoeff = 1 - (double) (step - tinit) / (totalStep - tfinal - tinit);
        int budget = (int) ((initBudget - targetBudget) * Math.pow(mulCoeff, 3) + targetBudget);
        return new Budget(budget, step % deltaT == 0);
    }

    /** PEFT's {@code update_ipt}: updates the smoothed sensitivity and uncertainty of every entry. */
    public void updateImportance(Map<String, ModuleState> modules) {
        modules.forEach((path, m) -> {
            update(path + ".lora_A", m.a(), m.gradA());
            update(path + ".lora_E", m.e(), m.gradE());
            update(path + ".lora_B", m.b(), m.gradB());
        });
    }

    private void update(String key, float[] values, float[] grads) {
        float[] avg = expAvgIpt.computeIfAbsent(key, k -> new float[values.length]);
        float[] unc = expAvgUnc.computeIfAbsent(key, k -> new float[values.length]);
        for (int i = 0; i < values.length; i++) {
            float ipt = Math.abs(values[i] * (grads == null ? 0f : grads[i]));
            avg[i] = (float) (beta1 * avg[i] + (1 - beta1) * ipt);
            unc[i] = (float) (beta2 * unc[i] + (1 - beta2) * Math.abs(ipt - avg[i]));
        }
    }

    /** Forgets the importance scores (PEFT's {@code reset_ipt}). */
    public void reset() {
        expAvgIpt.clear();
        expAvgUnc.clear();
    }

    private float[] score(String key, int n) {
        float[] avg = expAvgIpt.get(key);
        float[] unc = expAvgUnc.get(key);
        float[] s = new float[n];
        if (avg != null) {
            for (int i = 0; i < n; i++) {
                s[i] = avg[i] * unc[i];
            }
        }
        return s;
    }

    /**
     * The importance of each rank of each module: score of {@code E_i} plus the mean score of row {@code i} of A and
     * of column {@code i} of B (PEFT's {@code mask_to_budget} / {@code _combine_ipt}).
     */
    public Map<String, float[]> rankImportance(Map<String, ModuleState> modules) {
        Map<String, float[]> out = new LinkedHashMap<>();
        modules.forEach((path, m) -> {
            float[] a = score(path + ".lora_A", m.r() * m.in());
            float[] e = score(path + ".lora_E", m.r());
            float[] b = score(path + ".lora_B", m.out() * m.r());
            float[] total = new float[m.r()];
            for (int i = 0; i < m.r(); i++) {
                float meanA = 0;
                for (int j = 0; j < m.in(); j++) {
                    meanA += a[i * m.in() + j];
                }
                meanA /= m.in();
                float meanB = 0;
                for (int o = 0; o < m.out(); o++) {
                    meanB += b[o * m.r() + i];
                }
                meanB /= m.out();
                total[i] = e[i] + (meanA + meanB);
            }
            out.put(path, total);
        });
        return out;
    }

    /**
     * Which ranks to keep so that {@code budget} of {@link #initBudget()} remain: every rank whose importance is above
     * the {@code (initBudget - budget)}-th smallest importance over all modules (ties at the threshold are dropped, as
     * in PEFT).
     *
     * @return per module path, one flag per rank ({@code true}: kept)
     * @throws IllegalStateException when nothing is to be dropped ({@code budget >= initBudget}), where PEFT fails
     */
    public Map<String, boolean[]> maskToBudget(Map<String, ModuleState> modules, int budget) {
        Map<String, float[]> importance = rankImportance(modules);
        List<Float> all = new ArrayList<>();
        importance.values().forEach(v -> {
            for (float f : v) {
                all.add(f);
            }
        });
        int k = initBudget - budget;
        if (k <= 0) {
            // torch.kthvalue(all_score, k=init_bgt - budget) in PEFT: "selected index k out of range"
            throw new IllegalStateException("AdaLoRA cannot mask ranks to a budget of " + budget + " when the "
                    + "initial budget is " + initBudget + " (target_r * modules = " + targetBudget + " is not below "
                    + "the sum of the current ranks): PEFT's RankAllocator.mask_to_budget fails here too "
                    + "(torch.kthvalue: k=" + k + " out of range); choose target_r below init_r");
        }
        float[] sorted = new float[all.size()];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = all.get(i);
        }
        Arrays.sort(sorted);
        float threshold = sorted[Math.min(k, sorted.length) - 1];
        Map<String, boolean[]> keep = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : importance.entrySet()) {
            boolean[] flags = new boolean[e.getValue().length];
            for (int i = 0; i < flags.length; i++) {
                flags[i] = !(e.getValue()[i] <= threshold);
            }
            keep.put(e.getKey(), flags);
        }
        return keep;
    }

    /** The final-phase start: {@code total_step - tfinal}. */
    public int finalStep() {
        return totalStep - tfinal;
    }
}

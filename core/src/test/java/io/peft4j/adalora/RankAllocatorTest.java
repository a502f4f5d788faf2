package io.peft4j.adalora;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The allocator against values derived by hand from PEFT's formulas. */
class RankAllocatorTest {

    private static AdaLoraConfig config(int tinit, int tfinal, Integer total, int deltaT) {
        return AdaLoraConfig.adaLoraBuilder().initR(6).targetR(2).tinit(tinit).tfinal(tfinal).totalStep(total)
                .deltaT(deltaT).beta1(0.85).beta2(0.85).targetModules(List.of("fc1", "fc2")).build();
    }

    @Test
    void budgetScheduleIsCubic() {
        RankAllocator allocator = new RankAllocator(config(2, 3, 20, 2), Map.of("fc1", 6, "fc2", 6));
        assertEquals(12, allocator.initBudget());
        assertEquals(4, allocator.targetBudget());
        // step <= tinit: warm-up; then int((12 - 4) * (1 - (step - 2) / 15)^3 + 4), masking every deltaT steps;
        // after total_step - tfinal = 17: target budget, always masking.
        int[][] expected = {{0, 12, 0}, {2, 12, 0}, {3, 10, 0}, {4, 9, 1}, {10, 4, 1}, {16, 4, 1}, {17, 4, 0},
            {18, 4, 1}};
        for (int[] row : expected) {
            RankAllocator.Budget b = allocator.budgetSchedule(row[0]);
            assertEquals(row[1], b.budget(), "budget at step " + row[0]);
            assertEquals(row[2] == 1, b.mask(), "mask at step " + row[0]);
        }
    }

    @Test
    void missingTotalStepIsPeftsError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RankAllocator(configWithoutTotal(), Map.of("fc1", 6)));
        assertEquals("AdaLoRA does not work when `total_step` is None, supply a value > 0.", e.getMessage());
    }

    private static AdaLoraConfig configWithoutTotal() {
        try {
            return config(0, 0, null, 1);
        } catch (RuntimeException e) {
            // the config itself already refuses it: the same message
            assertEquals(true, e.getMessage().contains("AdaLoRA does not work when `total_step` is None"),
                    e.getMessage());
            throw new IllegalArgumentException(
                    "AdaLoRA does not work when `total_step` is None, supply a value > 0.");
        }
    }

    @Test
    void importanceAndMaskingFollowPeft() {
        RankAllocator allocator = new RankAllocator(config(0, 0, 10, 1), Map.of("m", 2));
        // r=2, in=1, out=1: A [2x1], E [2x1], B [1x2].
        RankAllocator.ModuleState state = new RankAllocator.ModuleState(2, 1, 1,
                new float[] {1f, 2f}, new float[] {1f, 1f},
                new float[] {3f, 0.5f}, new float[] {1f, 1f},
                new float[] {1f, 1f}, new float[] {4f, 1f});
        Map<String, RankAllocator.ModuleState> modules = new LinkedHashMap<>();
        modules.put("m", state);
        allocator.updateImportance(modules);
        // After one update from zero: avg = 0.15 * ipt, unc = 0.15 * |ipt - avg| = 0.1275 * ipt, score = 0.019125
        // ipt^2. ipt: A = [1, 2], E = [3, 0.5], B = [4, 1]; rank importance = score(E_i) + score(A_i) + score(B_i).
        double k = 0.15 * 0.1275;
        float[] importance = allocator.rankImportance(modules).get("m");
        assertEquals(k * (9 + 1 + 16), importance[0], 1e-6);
        assertEquals(k * (0.25 + 4 + 1), importance[1], 1e-6);
        Map<String, boolean[]> keep = allocator.maskToBudget(modules, 1);
        assertArrayEquals(new boolean[] {true, false}, keep.get("m"), "the less important rank goes");
        // PEFT's mask_to_budget calls torch.kthvalue(k=init_bgt - budget), which fails for k = 0
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> allocator.maskToBudget(modules, 2));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("k=0 out of range"), e.getMessage());
    }
}

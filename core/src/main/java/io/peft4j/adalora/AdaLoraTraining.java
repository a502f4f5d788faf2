package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftMethod;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.layer.Scalars;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;
import io.peft4j.tuner.WeakIdentityMap;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs AdaLoRA's training-time work during ordinary DJL training, with no call from the application: after every
 * {@code Trainer.step()} the rank allocator of each active AdaLoRA adapter updates importance and masks ranks
 * (PEFT's {@code update_and_allocate(global_step)}, {@code global_step} counting the model's steps from 0), and every
 * {@code GradientCollector.backward(loss)} of a model in training adds
 * {@code orth_reg_weight * mean ||P P^T - I||_F} over the adapter's A and B (PEFT's orthogonal regularisation). The
 * current allocation is kept in the adapter's config as {@code rank_pattern}, so saving writes it as PEFT does.
 */
public final class AdaLoraTraining {

    private static final PeftLog LOG = PeftLog.get(AdaLoraTraining.class);
    private static final WeakIdentityMap<Block, Map<String, State>> STATES = new WeakIdentityMap<>();
    private static final WeakIdentityMap<Block, Integer> TRAINING = new WeakIdentityMap<>();

    /** The calls the training advice makes, as AdaLoRA's {@link PeftMethod#trainingHook()}. */
    static final PeftMethod.TrainingHook HOOK = new PeftMethod.TrainingHook() {
        @Override
        public void trainerOpened(Block root) {
            AdaLoraTraining.trainerOpened(root);
        }

        @Override
        public void trainerClosed(Block root) {
            AdaLoraTraining.trainerClosed(root);
        }

        @Override
        public void beforeStep(Block root) {
            AdaLoraTraining.beforeStep(root);
        }

        @Override
        public void afterStep(Block root) {
            AdaLoraTraining.afterStep(root);
        }

        @Override
        public NDArray beforeBackward(NDArray loss) {
            return withOrthogonalRegularisation(loss);
        }
    };

    private AdaLoraTraining() {}

    /** Allocation state of one AdaLoRA adapter on one model. */
    static final class State {
        final RankAllocator allocator;
        final Map<String, SvdFactors> modules;
        int step;
        Map<String, boolean[]> keep;
        Map<String, float[][]> grads;

        State(RankAllocator allocator, Map<String, SvdFactors> modules) {
            this.allocator = allocator;
            this.modules = modules;
        }
    }

    /** A Trainer was created for the model rooted at {@code root}. */
    public static synchronized void trainerOpened(Block root) {
        Integer n = TRAINING.get(root);
        TRAINING.put(root, n == null ? 1 : n + 1);
    }

    /** A Trainer of the model rooted at {@code root} closed. */
    public static synchronized void trainerClosed(Block root) {
        Integer n = TRAINING.get(root);
        if (n == null || n <= 1) {
            TRAINING.remove(root);
        } else {
            TRAINING.put(root, n - 1);
        }
    }

    /**
     * Before {@code Trainer.step()}: keeps this step's gradients of every AdaLoRA factor, which the optimizer update
     * zeroes (PEFT reads {@code p.grad} after {@code optimizer.step()}, before {@code zero_grad()}).
     */
    public static void beforeStep(Block root) {
        forEachActive(root, (model, name, state) -> {
            Map<String, float[][]> grads = new LinkedHashMap<>();
            state.modules.forEach((path, m) -> grads.put(path, new float[][] {grad(m.loraA().getArray()),
                grad(m.loraE().getArray()), grad(m.loraB().getArray())}));
            state.grads = grads;
        });
    }

    /**
     * Sets the {@code global_step} the next {@code Trainer.step()} of adapter {@code adapter} allocates ranks for
     * (PEFT takes it from the caller of {@code update_and_allocate(global_step)}): training resumed in a new JVM
     * continues the budget schedule where it stopped instead of starting at step 0. The importance averages start
     * afresh, as in a new PEFT process.
     *
     * @throws IllegalArgumentException when the model has no AdaLoRA adapter {@code adapter}, or {@code step < 0}
     */
    public static void setGlobalStep(Block root, String adapter, int step) {
        if (step < 0) {
            throw new IllegalArgumentException("global step must be >= 0, got " + step);
        }
        State state = adaLoraState(root, adapter);
        synchronized (state) {
            state.step = step;
        }
    }

    /** The {@code global_step} the next {@code Trainer.step()} of adapter {@code adapter} allocates ranks for. */
    public static int globalStep(Block root, String adapter) {
        State state = adaLoraState(root, adapter);
        synchronized (state) {
            return state.step;
        }
    }

    private static State adaLoraState(Block root, String adapter) {
        ModelAdapters model = AdapterRegistry.model(root);
        AdapterConfig config = model == null ? null : model.adapterNames().contains(adapter)
                ? model.config(adapter) : null;
        if (!(config instanceof AdaLoraConfig)) {
            throw new IllegalArgumentException("the model has no AdaLoRA adapter '" + adapter + "'");
        }
        return state(root, model, adapter, (AdaLoraConfig) config);
    }

    /** After {@code Trainer.step()} on the model rooted at {@code root}. */
    public static void afterStep(Block root) {
        forEachActive(root, AdaLoraTraining::updateAndAllocate);
    }

    /** Work on one active AdaLoRA adapter's allocation state, under its lock. */
    private interface StateWork {
        void run(ModelAdapters model, String name, State state);
    }

    private static void forEachActive(Block root, StateWork work) {
        ModelAdapters model = AdapterRegistry.model(root);
        if (model == null) {
            return;
        }
        for (String name : model.activeAdapters()) {
            AdapterConfig config = model.config(name);
            // PEFT's AdaLoraModel only allocates ranks for its trainable adapter (not inference_mode)
            if (config instanceof AdaLoraConfig && model.requiresGrad(name)) {
                State state = state(root, model, name, (AdaLoraConfig) config);
                synchronized (state) {
                    work.run(model, name, state);
                }
            }
        }
    }

    private static synchronized State state(Block root, ModelAdapters model, String name, AdaLoraConfig config) {
        Map<String, State> byName = STATES.computeIfAbsent(root, k -> new LinkedHashMap<>());
        return byName.computeIfAbsent(name, k -> {
            Map<String, SvdFactors> modules = modules(model, name);
            Map<String, Integer> ranks = new LinkedHashMap<>();
            modules.forEach((path, m) -> ranks.put(path, m.rank()));
            return new State(new RankAllocator(config, ranks), modules);
        });
    }

    private static Map<String, SvdFactors> modules(ModelAdapters model, String name) {
        Map<String, SvdFactors> out = new LinkedHashMap<>();
        for (TunedModule module : model.tunedModules().values()) {
            ModuleAdapter adapter = module.adapter(name);
            if (adapter instanceof SvdFactors) {
                out.put(module.path(), (SvdFactors) adapter);
            }
        }
        return out;
    }

    /** PEFT's {@code AdaLoraModel.update_and_allocate} for one step. */
    static void updateAndAllocate(ModelAdapters model, String name, State state) {
        int step = state.step++;
        RankAllocator allocator = state.allocator;
        int finalStep = allocator.finalStep();
        if (step < finalStep) {
            Map<String, RankAllocator.ModuleState> values = snapshot(state);
            allocator.updateImportance(values);
            RankAllocator.Budget budget = allocator.budgetSchedule(step);
            if (budget.mask()) {
                apply(model, name, state, allocator.maskToBudget(values, budget.budget()));
            }
        } else if (step == finalStep) {
            RankAllocator.Budget budget = allocator.budgetSchedule(step);
            apply(model, name, state, allocator.maskToBudget(snapshot(state), budget.budget()));
            allocator.reset();
            LOG.info("AdaLoRA adapter '{}': final rank allocation at step {}: {} of {} ranks kept ({} per module "
                    + "on average, target_r={})", name, step, kept(state.keep), allocator.initBudget(),
                    String.format(java.util.Locale.ROOT, "%.2f", (double) kept(state.keep) / state.modules.size()),
                    allocator.targetBudget() / Math.max(1, state.modules.size()));
        } else if (state.keep != null) {
            mask(state);
        }
    }

    private static int kept(Map<String, boolean[]> keep) {
        int n = 0;
        for (boolean[] flags : keep.values()) {
            for (boolean f : flags) {
                n += f ? 1 : 0;
            }
        }
        return n;
    }

    private static void apply(ModelAdapters model, String name, State state, Map<String, boolean[]> keep) {
        state.keep = keep;
        mask(state);
        Map<String, List<Boolean>> pattern = new LinkedHashMap<>();
        keep.forEach((path, flags) -> {
            List<Boolean> list = new ArrayList<>(flags.length);
            for (boolean f : flags) {
                list.add(f);
            }
            pattern.put(AdaLoraModules.maskKey(path), list);
        });
        AdaLoraConfig config = (AdaLoraConfig) model.config(name);
        model.replaceConfig(name, config.withRankMasks(pattern));
    }

    private static void mask(State state) {
        state.keep.forEach((path, flags) -> {
            SvdFactors module = state.modules.get(path);
            NDArray e = module.loraE().getArray();
            float[] factor = new float[flags.length];
            for (int i = 0; i < flags.length; i++) {
                factor[i] = flags[i] ? 1f : 0f;
            }
            WeightUpdate.multiply(e, () -> e.getManager().create(factor, new Shape(flags.length, 1)), false,
                    "AdaLoRA mask");
            // x * 0 is -0.0 for negative x; adding +0.0 gives PEFT's masked_fill_ value, +0.0, and keeps the rest.
            WeightUpdate.add(e, () -> e.zerosLike(), false, "AdaLoRA mask");
        });
    }

    /** The factors' values now, with the gradients kept before the optimizer step. */
    private static Map<String, RankAllocator.ModuleState> snapshot(State state) {
        Map<String, RankAllocator.ModuleState> out = new LinkedHashMap<>();
        state.modules.forEach((path, m) -> {
            NDArray a = m.loraA().getArray();
            NDArray b = m.loraB().getArray();
            float[][] g = state.grads == null ? null : state.grads.get(path);
            int r = (int) a.getShape().get(0);
            out.put(path, new RankAllocator.ModuleState(r, (int) a.getShape().get(1), (int) b.getShape().get(0),
                    a.toFloatArray(), g == null ? null : g[0], m.loraE().getArray().toFloatArray(),
                    g == null ? null : g[1], b.toFloatArray(), g == null ? null : g[2]));
        });
        state.grads = null;
        return out;
    }

    private static float[] grad(NDArray array) {
        if (!array.hasGradient()) {
            return null;
        }
        NDArray g = array.getGradient();
        try {
            return g.toFloatArray();
        } finally {
            g.close();
        }
    }

    /**
     * {@code loss + orth_reg_weight * regulariser} for each AdaLoRA adapter of a model in training (PEFT adds it to
     * the loss in {@code AdaLoraModel.forward}); {@code loss} unchanged when none is training.
     */
    public static NDArray withOrthogonalRegularisation(NDArray loss) {
        NDArray total = loss;
        for (Block root : trainingRoots()) {
            ModelAdapters model = AdapterRegistry.model(root);
            if (model == null) {
                continue;
            }
            for (String name : model.activeAdapters()) {
                AdapterConfig config = model.config(name);
                if (!(config instanceof AdaLoraConfig) || ((AdaLoraConfig) config).orthRegWeight() <= 0) {
                    continue;
                }
                NDArray reg = regulariser(modules(model, name).values(), loss.getManager());
                if (reg != null) {
                    total = total.add(Scalars.mul(reg, ((AdaLoraConfig) config).orthRegWeight()));
                }
            }
        }
        return total;
    }

    private static synchronized List<Block> trainingRoots() {
        List<Block> roots = new ArrayList<>();
        for (ModelAdapters model : AdapterRegistry.models()) {
            if (TRAINING.get(model.root()) != null) {
                roots.add(model.root());
            }
        }
        return roots;
    }

    /** {@code mean over A and B of ||P P^T - I||_F} (A: {@code A A^T}; B: {@code B^T B}). */
    static NDArray regulariser(Iterable<SvdFactors> modules, NDManager manager) {
        NDArray sum = null;
        int count = 0;
        for (SvdFactors m : modules) {
            for (Parameter p : new Parameter[] {m.loraA(), m.loraB()}) {
                if (!p.requiresGradient()) {
                    continue;
                }
                NDArray x = p.getArray();
                NDArray cov = p == m.loraA() ? x.matMul(x.transpose()) : x.transpose().matMul(x);
                long n = cov.getShape().get(0);
                // torch's Frobenius norm, as PEFT's torch.norm(p="fro"): its backward is 0 where the norm is 0
                // (an exactly orthonormal factor), where sqrt(sum(x^2)) would give 0 * 1/0 = NaN
                NDArray norm = cov.sub(manager.eye((int) n)).norm();
                sum = sum == null ? norm : sum.add(norm);
                count++;
            }
        }
        return sum == null ? null : Scalars.div(sum, count);
    }
}

package io.peft4j.traced;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.WeakIdentityMap;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LoRA training on a traced model by the exact identity {@code W = W0 + s·B·A}. libtorch runs the traced module, so
 * the adapter cannot sit in its forward pass; instead the weight stays merged, DJL's ordinary backward computes
 * {@code G = dL/dW} for the targeted weights only (every other base parameter is frozen), and right after each
 * backward {@code dL/dA = s·Bᵀ·G} and {@code dL/dB = s·G·Aᵀ} are obtained exactly, as the gradient of
 * {@code sum(G ⊙ s·B·A)} (transposed layouts and convolutions follow from the same expression). The optimizer sees and
 * updates A and B only (they are the parameters {@code getParameters()} adds for the Trainer); after each
 * {@code Trainer.step()} W is rebuilt from an exact copy of the base weight. Per targeted weight this costs one
 * gradient buffer and one base copy, each the size of W.
 *
 * <p>Only what the identity covers exactly is trained: LoRA (and {@code lora_bias}) without dropout; the
 * {@code modules_to_save} copies and saved biases of the adapter are trained directly. DoRA, IA3, AdaLoRA and
 * {@code lora_dropout > 0} are refused when the Trainer is created.
 */
public final class TracedTraining {

    private static final PeftLog LOG = PeftLog.get(TracedTraining.class);
    private static final WeakIdentityMap<Block, TracedTraining> TRAINING = new WeakIdentityMap<>();
    private static final ThreadLocal<Boolean> CONVERTING = new ThreadLocal<>();

    /** One targeted parameter: its exact base copy and the deltas of every active adapter on it. */
    private static final class Target {
        final Parameter parameter;
        final NDArray base;
        final List<java.util.function.Supplier<NDArray>> deltas = new ArrayList<>();

        Target(Parameter parameter, NDArray base) {
            this.parameter = parameter;
            this.base = base;
        }
    }

    private final TracedModel model;
    private final Map<Parameter, Target> targets = new LinkedHashMap<>();
    private final PairList<String, Parameter> factors = new PairList<>();
    private final List<Parameter> direct = new ArrayList<>();

    private TracedTraining(TracedModel model) {
        this.model = model;
    }

    /**
     * A Trainer was created for {@code model}: when it is a traced model with active adapters, sets up training by
     * the identity.
     *
     * @throws UnsupportedOperationException naming the adapter and module when an active adapter cannot be trained
     *     exactly this way
     */
    public static void trainerOpened(Model model) {
        Block block = model.getBlock();
        TracedModel traced = TracedModels.of(block);
        if (traced == null || traced.activeAdapters().isEmpty() || TRAINING.get(block) != null) {
            return;
        }
        TracedTraining training = new TracedTraining(traced);
        traced.exclusive(() -> {
            training.setUp();
            return null;
        });
        TRAINING.put(block, training);
        LOG.info("traced model {}: training adapters {} by W = W0 + s·B·A: {} weights get gradients, {} factors and"
                + " {} parameters are trained, {} of base copies and gradient buffers", traced.label(),
                traced.activeAdapters(), training.targets.size(), training.factors.size(), training.direct.size(),
                size(training.bytes()));
    }

    private void setUp() {
        if (!model.isMerged()) {
            throw new UnsupportedOperationException("traced model " + model.label() + " is not merged (adapters "
                    + "disabled or unmerged): enable or merge its adapters before training them");
        }
        List<Object[]> trainable = new ArrayList<>();
        for (String name : model.activeAdapters()) {
            TracedAdapter adapter = model.adapter(name);
            for (Map.Entry<String, ModuleMerge> e : adapter.modules().entrySet()) {
                try {
                    trainable.add(new Object[] {name, e.getKey(), e.getValue().trainable()});
                } catch (UnsupportedOperationException refused) {
                    throw new UnsupportedOperationException("cannot train adapter '" + name + "' on traced model "
                            + model.label() + " (module '" + e.getKey() + "'): " + refused.getMessage(), refused);
                }
            }
        }
        Block block = model.root();
        block.freezeParameters(true);
        for (Object[] t : trainable) {
            String name = (String) t[0];
            TracedModule module = model.structure().modules().get((String) t[1]);
            TrainableDelta delta = (TrainableDelta) t[2];
            target(module.weight()).deltas.add(delta::weightDelta);
            if (delta.biasDelta() != null) {
                target(module.bias()).deltas.add(delta::biasDelta);
            }
            delta.factors().forEach((slot, array) -> {
                int dot = slot.indexOf('.');
                String local = dot < 0 ? slot + "." + name : slot.substring(0, dot) + "." + name + slot.substring(dot);
                Parameter p = Parameter.builder().setName(module.path() + "." + local)
                        .setType(Parameter.Type.WEIGHT).build();
                p.setArray(array);
                array.setRequiresGradient(true);
                factors.add(p.getName(), p);
            });
        }
        takeBaseCopies();
        for (String name : model.activeAdapters()) {
            for (TracedAdapter.Replacement r : model.adapter(name).replacements().values()) {
                Parameter p = model.structure().parameters().get(r.parameter());
                p.freeze(false);
                direct.add(p);
            }
        }
        for (Target t : targets.values()) {
            t.parameter.freeze(false);
        }
        model.startTraining(this);
    }

    /** The target of {@code parameter}, with a copy of its merged value ({@link #takeBaseCopies} makes it W0). */
    private Target target(Parameter parameter) {
        Target existing = targets.get(parameter);
        if (existing != null) {
            return existing;
        }
        Target t = new Target(parameter, WeightEdits.copyOf(parameter.getArray()));
        targets.put(parameter, t);
        return t;
    }

    /** {@code 12.3 KB}, {@code 4.5 MB}. */
    static String size(long bytes) {
        return bytes < 1_000_000 ? String.format(Locale.ROOT, "%.1f KB", bytes / 1e3)
                : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private long bytes() {
        long n = 0;
        for (Target t : targets.values()) {
            n += 2 * t.base.getShape().size() * t.base.getDataType().getNumOfBytes();
        }
        return n;
    }

    /** Removes the deltas from the base copies: {@code W0 = W - Σ delta} (after the set-up added them). */
    private void takeBaseCopies() {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Target t : targets.values()) {
                NDArray sum = null;
                for (java.util.function.Supplier<NDArray> d : t.deltas) {
                    NDArray v = d.get().stopGradient();
                    sum = sum == null ? v : sum.add(v);
                }
                t.base.subi(sum);
            }
        }
    }

    /** The parameters the Trainer must see besides the block's own: the trained factors, for {@code block}. */
    public static PairList<String, Parameter> attached(Object block) {
        TracedTraining t = block instanceof Block ? TRAINING.get((Block) block) : null;
        return t == null ? null : t.factors;
    }

    /** Right after a backward: turns {@code dL/dW} of the targeted weights into the factors' gradients. */
    public static void afterBackward(Object collector) {
        if (CONVERTING.get() != null || TRAINING.isEmpty() || !(collector instanceof GradientCollector)) {
            return;
        }
        CONVERTING.set(Boolean.TRUE);
        try {
            for (TracedTraining t : TRAINING.values()) {
                t.chainRule((GradientCollector) collector);
            }
        } finally {
            CONVERTING.remove();
        }
    }

    private void chainRule(GradientCollector collector) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray surrogate = null;
            for (Target t : targets.values()) {
                NDArray live = t.parameter.getArray();
                if (!live.hasGradient()) {
                    continue;
                }
                NDArray g = live.getGradient();
                if (!g.any().getBoolean()) {
                    continue;
                }
                NDArray gradient = g.duplicate();
                g.subi(g);
                for (java.util.function.Supplier<NDArray> d : t.deltas) {
                    NDArray term = gradient.mul(d.get()).sum();
                    surrogate = surrogate == null ? term : surrogate.add(term);
                }
            }
            if (surrogate != null) {
                collector.backward(surrogate);
            }
        }
    }

    /** Before {@code Trainer.step()}: the targeted weights are hidden from the optimizer. */
    public static void beforeStep(Block block) {
        TracedTraining t = TRAINING.get(block);
        if (t != null) {
            for (Target target : t.targets.values()) {
                target.parameter.freeze(true);
            }
        }
    }

    /** After {@code Trainer.step()}: {@code W = W0 + Σ s·B·A} from the updated factors; W gets gradients again. */
    public static void afterStep(Block block) {
        TracedTraining t = TRAINING.get(block);
        if (t != null) {
            t.remerge();
            for (Target target : t.targets.values()) {
                target.parameter.freeze(false);
            }
        }
    }

    private void remerge() {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Target t : targets.values()) {
                NDArray w = t.base;
                for (java.util.function.Supplier<NDArray> d : t.deltas) {
                    w = w.add(d.get().stopGradient());
                }
                WeightEdits.assign(t.parameter.getArray(), w);
            }
        }
    }

    /** The Trainer closes: the model keeps the trained adapters merged; its parameters are frozen again. */
    public static void trainerClosed(Block block) {
        TracedTraining t = TRAINING.remove(block);
        if (t == null) {
            return;
        }
        t.remerge();
        for (String name : t.model.activeAdapters()) {
            for (TracedAdapter.Replacement r : t.model.adapter(name).replacements().values()) {
                WeightEdits.assign(r.value(), t.model.structure().parameters().get(r.parameter()).getArray());
            }
        }
        for (Pair<String, Parameter> p : t.factors) {
            p.getValue().getArray().setRequiresGradient(false);
        }
        for (Target target : t.targets.values()) {
            target.base.close();
        }
        block.freezeParameters(true);
        t.model.stopTraining(t);
        LOG.info("traced model {}: training ended; adapters {} stay merged with their trained values",
                t.model.label(), t.model.activeAdapters());
    }
}

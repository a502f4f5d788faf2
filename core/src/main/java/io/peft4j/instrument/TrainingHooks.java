package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftMethods;
import io.peft4j.config.PeftType;
import io.peft4j.traced.TracedTraining;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the calls woven into DJL's training run, with or without the agent: gives adapted models PEFT's trainable set
 * back when a Trainer is created, and runs the {@link PeftMethod#trainingHook() training hooks} of the methods that
 * have one (AdaLoRA's per-step rank allocation and loss regularisation). A hook's error follows {@link AdviceErrors}'
 * policy (the training call fails by default); errors while the Trainer closes are only counted.
 */
public final class TrainingHooks {

    private TrainingHooks() {}

    /** The training hooks of the registered methods, found once, with the method each belongs to. */
    private static final class Hooks {
        static final List<PeftMethod.TrainingHook> ALL;
        static final Map<PeftMethod.TrainingHook, PeftType> METHOD = new IdentityHashMap<>();

        static {
            List<PeftMethod.TrainingHook> hooks = new ArrayList<>();
            for (PeftMethod method : PeftMethods.all()) {
                if (method.trainingHook() != null) {
                    hooks.add(method.trainingHook());
                    METHOD.put(method.trainingHook(), method.peftType());
                }
            }
            ALL = List.copyOf(hooks);
        }
    }

    /**
     * A Trainer was created ({@code opened}), stepped ({@code step}) or is closing ({@code closing}). Only the refusal
     * to train a traced model's adapters escapes, as {@link InjectionFailure}, from the Trainer's constructor.
     */
    static void trainer(Object trainer, String event) {
        Block root = null;
        PeftMethod.TrainingHook current = null;
        if ("opened".equals(event)) {
            try {
                Model model = ((Trainer) trainer).getModel();
                if (model != null && model.getBlock() != null) {
                    TracedTraining.trainerOpened(model);
                }
            } catch (UnsupportedOperationException e) {
                throw new InjectionFailure(e.getMessage(), e);
            } catch (Throwable t) {
                AdviceErrors.record("preparing a traced model for training", t);
            }
        }
        try {
            Model model = ((Trainer) trainer).getModel();
            if (model == null || model.getBlock() == null) {
                return;
            }
            root = model.getBlock();
            for (PeftMethod.TrainingHook hook : Hooks.ALL) {
                current = hook;
                switch (event) {
                    case "opened":
                        hook.trainerOpened(root);
                        break;
                    case "closing":
                        hook.trainerClosed(root);
                        break;
                    case "before-step":
                        hook.beforeStep(root);
                        break;
                    default:
                        hook.afterStep(root);
                }
            }
            switch (event) {
                case "closing":
                    TracedTraining.trainerClosed(root);
                    break;
                case "before-step":
                    TracedTraining.beforeStep(root);
                    NonFiniteGuard.beforeStep(root);
                    break;
                case "step":
                    TracedTraining.afterStep(root);
                    NonFiniteGuard.afterStep(root);
                    break;
                default:
                    break;
            }
            current = null;
            if ("opened".equals(event)) {
                refreeze(root);
            }
        } catch (Throwable t) {
            if ("closing".equals(event)) {
                AdviceErrors.record("a method's training hook (closing)", t);
            } else {
                failed(root, current, "the Trainer's " + event, t);
            }
        }
    }

    /**
     * DJL's {@code newTrainer} unfreezes every parameter of a loaded model ({@code freezeParameters(false)}) just
     * before the Trainer exists; an adapted model gets PEFT's trainable set back here.
     */
    private static void refreeze(Block root) {
        ModelAdapters adapters = AdapterRegistry.model(root);
        if (adapters != null) {
            adapters.setActiveAdapters(adapters.activeAdapters());
        }
    }

    /**
     * Woven before {@code GradientCollector.backward} returns: traced models whose LoRA adapters are training turn
     * the gradients of their merged weights into the adapters' ({@link TracedTraining}). Never throws.
     */
    public static void afterBackward(Object collector) {
        try {
            TracedTraining.afterBackward(collector);
        } catch (Throwable t) {
            AdviceErrors.record("turning traced-weight gradients into LoRA gradients", t);
        }
    }

    /** The loss to back-propagate: with what the methods' hooks add (AdaLoRA's regularisation while training). */
    public static Object beforeBackward(Object target) {
        if (!(target instanceof NDArray)) {
            return target;
        }
        PeftMethod.TrainingHook current = null;
        try {
            NDArray loss = (NDArray) target;
            for (PeftMethod.TrainingHook hook : Hooks.ALL) {
                current = hook;
                loss = hook.beforeBackward(loss);
            }
            return loss;
        } catch (Throwable t) {
            failed(null, current, "adding its regularisation to the loss", t);
            return target;
        }
    }

    /**
     * A training hook ({@code hook}, or peft4j's own re-freezing when {@code null}) failed: under the policy, naming
     * the hook and the model's active adapters when {@code root} is known. Counted under {@code (training)}.
     */
    private static void failed(Block root, PeftMethod.TrainingHook hook, String what, Throwable t) {
        String subject = hook == null ? "peft4j's training set-up" : "the " + Hooks.METHOD.get(hook) + " training hook";
        try {
            ModelAdapters model = root == null ? null : AdapterRegistry.model(root);
            if (model != null) {
                subject += " of adapters " + model.activeAdapters() + " (model " + root.getClass().getSimpleName()
                        + ")";
            }
        } catch (RuntimeException e) {
            t.addSuppressed(e);
        }
        AdviceErrors.failed("(training)", subject, what, t);
    }
}

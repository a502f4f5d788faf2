package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.training.Trainer;
import io.peft4j.adalora.AdaLoraTraining;
import io.peft4j.traced.TracedTraining;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;

/**
 * What the training advice calls, with or without the agent: tracks which models are in training and runs AdaLoRA's
 * per-step rank allocation and loss regularisation. Never throws.
 */
public final class TrainingHooks {

    private TrainingHooks() {}

    /**
     * A Trainer was created ({@code opened}), stepped ({@code step}) or is closing ({@code closing}). Only the refusal
     * to train a traced model's adapters escapes, as {@link InjectionFailure}, from the Trainer's constructor.
     */
    static void trainer(Object trainer, String event) {
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
            switch (event) {
                case "opened":
                    AdaLoraTraining.trainerOpened(model.getBlock());
                    refreeze(model);
                    break;
                case "closing":
                    AdaLoraTraining.trainerClosed(model.getBlock());
                    TracedTraining.trainerClosed(model.getBlock());
                    break;
                case "before-step":
                    AdaLoraTraining.beforeStep(model.getBlock());
                    TracedTraining.beforeStep(model.getBlock());
                    break;
                default:
                    AdaLoraTraining.afterStep(model.getBlock());
                    TracedTraining.afterStep(model.getBlock());
            }
        } catch (Throwable t) {
            AdviceErrors.record("AdaLoRA's training step (" + event + ")", t);
        }
    }

    /**
     * DJL's {@code newTrainer} unfreezes every parameter of a loaded model ({@code freezeParameters(false)}) just
     * before the Trainer exists; an adapted model gets PEFT's trainable set back here.
     */
    private static void refreeze(Model model) {
        ModelAdapters adapters = AdapterRegistry.model(model.getBlock());
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

    /** The loss to back-propagate: AdaLoRA's regularisation added where an AdaLoRA model is training. */
    public static Object beforeBackward(Object target) {
        try {
            return target instanceof NDArray ? AdaLoraTraining.withOrthogonalRegularisation((NDArray) target)
                    : target;
        } catch (Throwable t) {
            AdviceErrors.record("adding AdaLoRA's orthogonal regularisation", t);
            return target;
        }
    }
}

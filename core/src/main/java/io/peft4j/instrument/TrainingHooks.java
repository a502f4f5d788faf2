package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.training.Trainer;
import io.peft4j.adalora.AdaLoraTraining;

/**
 * What the training advice calls, with or without the agent: tracks which models are in training and runs AdaLoRA's
 * per-step rank allocation and loss regularisation. Never throws.
 */
public final class TrainingHooks {

    private TrainingHooks() {}

    /** A Trainer was created ({@code opened}), stepped ({@code step}) or is closing ({@code closing}). */
    static void trainer(Object trainer, String event) {
        try {
            Model model = ((Trainer) trainer).getModel();
            if (model == null || model.getBlock() == null) {
                return;
            }
            switch (event) {
                case "opened":
                    AdaLoraTraining.trainerOpened(model.getBlock());
                    break;
                case "closing":
                    AdaLoraTraining.trainerClosed(model.getBlock());
                    break;
                default:
                    AdaLoraTraining.afterStep(model.getBlock());
            }
        } catch (Throwable t) {
            AdviceErrors.record("AdaLoRA's training step (" + event + ")", t);
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

package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;

/**
 * What the lifecycle advice calls: tracks the outermost forward per thread and forwards model events to the
 * registered {@link ModelLifecycleListener}. Only {@link InjectionFailure} escapes to the application.
 */
public final class ModelHooks {

    private static volatile ModelLifecycleListener listener;
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private ModelHooks() {}

    /** Installs the listener ({@code null} removes it). */
    public static void setListener(ModelLifecycleListener newListener) {
        listener = newListener;
    }

    /** Entering a block's forward; returns whether the depth was counted (so exit must uncount). */
    public static boolean enterForward(Object block) {
        ModelLifecycleListener l = listener;
        if (l == null) {
            return false;
        }
        int[] depth = DEPTH.get();
        if (depth[0]++ == 0 && block instanceof Block) {
            notifyRoot(l, (Block) block, "forward", depth);
        }
        return true;
    }

    /** Leaving a block's forward counted by {@link #enterForward}. */
    public static void exitForward() {
        DEPTH.get()[0]--;
    }

    /** A Trainer was created, initialised ({@code trainer-initialized}), stepped ({@code trainer-step}) or is closing ({@code trainer-closing}). */
    public static void trainerEvent(Object trainer, String event) {
        switch (event) {
            case "trainer":
                TrainingHooks.trainer(trainer, "opened");
                break;
            case "trainer-closing":
                TrainingHooks.trainer(trainer, "closing");
                break;
            case "trainer-before-step":
                TrainingHooks.trainer(trainer, "before-step");
                return;
            case "trainer-step":
                TrainingHooks.trainer(trainer, "step");
                return;
            default:
                break;
        }
        if (listener == null) {
            return;
        }
        Model model = ((Trainer) trainer).getModel();
        if ("trainer-closing".equals(event)) {
            trainingEnded(model);
        } else {
            modelInUse(model, event);
        }
    }

    /** A Trainer or Predictor was created for {@code model} (a {@link Model}), or a Trainer initialised it. */
    public static void modelInUse(Object model, String trigger) {
        ModelLifecycleListener l = listener;
        if (l == null || model == null || ((Model) model).getBlock() == null) {
            return;
        }
        notifyRoot(l, ((Model) model).getBlock(), trigger, null);
    }

    private static void trainingEnded(Model model) {
        ModelLifecycleListener l = listener;
        if (l == null) {
            return;
        }
        try {
            l.trainingEnded(model);
        } catch (Throwable t) {
            AdviceErrors.record("handling the end of training", t);
        }
    }

    private static void notifyRoot(ModelLifecycleListener l, Block root, String trigger, int[] depth) {
        try {
            l.rootInUse(root, trigger);
        } catch (InjectionFailure e) {
            if (depth != null) {
                depth[0]--;
            }
            throw e;
        } catch (Throwable t) {
            AdviceErrors.record("injecting adapters on " + trigger, t);
        }
    }
}

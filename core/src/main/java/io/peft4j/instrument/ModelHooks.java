package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;

/**
 * What the lifecycle advice calls: tracks the outermost forward per thread and forwards model events to the
 * registered {@link ModelLifecycleListener}. Only {@link InjectionFailure} escapes to the application.
 */
public final class ModelHooks {

    private static volatile ModelLifecycleListener listener;
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    private static final Object NESTED = new Object();

    private ModelHooks() {}

    /** Installs the listener ({@code null} removes it). */
    public static void setListener(ModelLifecycleListener newListener) {
        listener = newListener;
    }

    /**
     * Entering a block's forward. At the outermost forward of a thread, tells the listener about the root and, if
     * the root carries adapters, holds them steady until {@link #exitForward} (a concurrent switch waits).
     *
     * @return the token to pass to {@link #exitForward}
     */
    public static Object enterForward(Object block) {
        int[] depth = DEPTH.get();
        if (depth[0]++ != 0 || !(block instanceof Block)) {
            return NESTED;
        }
        ModelLifecycleListener l = listener;
        if (l != null) {
            notifyRoot(l, (Block) block, "forward", depth);
        }
        try {
            ModelAdapters adapters = AdapterRegistry.model((Block) block);
            if (adapters != null) {
                adapters.beginForward();
                return adapters;
            }
        } catch (Throwable t) {
            AdviceErrors.record("starting a forward pass", t);
        }
        return NESTED;
    }

    /** Leaving a block's forward entered with {@link #enterForward}. */
    public static void exitForward(Object token) {
        if (token == null) {
            return;
        }
        DEPTH.get()[0]--;
        if (token instanceof ModelAdapters) {
            ((ModelAdapters) token).endForward();
        }
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

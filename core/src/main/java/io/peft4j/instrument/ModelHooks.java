package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import io.peft4j.layer.FusedWeights;
import io.peft4j.layer.WeightChanges;
import io.peft4j.traced.TracedLoading;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.AdapterSelection;
import io.peft4j.tuner.AdapterSelectionException;
import io.peft4j.tuner.ModelAdapters;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the woven lifecycle hooks call: tracks the outermost forward per thread and forwards model events to the
 * registered {@link ModelLifecycleListener}. Only {@link InjectionFailure} and {@link AdapterSelectionException} (a
 * thread's adapter selection the model cannot run) escape to the application.
 */
public final class ModelHooks {

    private static volatile ModelLifecycleListener listener;
    /** Run once when an outermost forward pass next ends ({@link #afterNextOutermostPass}). */
    private static final AtomicReference<Runnable> AFTER_PASS = new AtomicReference<>();
    private static final ThreadLocal<Pass> PASS = ThreadLocal.withInitial(Pass::new);

    /** The forward nesting of one thread: its depth and the adapters held by its outermost forward. */
    private static final class Pass {
        int depth;
        ModelAdapters held;
        TracedModel heldTraced;
    }

    private ModelHooks() {}

    /** Installs the listener ({@code null} removes it). */
    public static void setListener(ModelLifecycleListener newListener) {
        listener = newListener;
    }

    /**
     * Runs {@code task} once, on the thread whose outermost forward pass ends next, after the pass (the agent registers
     * its MXBean after the application's first forward pass, so that the JDK's work never delays it). The task must
     * return at once; what it throws is recorded, never propagated. {@code null} clears it.
     */
    public static void afterNextOutermostPass(Runnable task) {
        AFTER_PASS.set(task);
    }

    /**
     * Entering a block's forward. At the outermost forward of a thread, tells the listener about the root and, if
     * the root carries adapters, holds them steady until the matching {@link #exitForward} (a concurrent switch
     * waits). Only {@link InjectionFailure} escapes (and then no {@link #exitForward} follows).
     */
    public static void enterForward(Object block) {
        Pass pass = PASS.get();
        if (pass.depth++ != 0 || !(block instanceof Block)) {
            return;
        }
        ModelLifecycleListener l = listener;
        if (l != null) {
            notifyRoot(l, (Block) block, "forward", pass);
        }
        try {
            ModelAdapters adapters = AdapterRegistry.model((Block) block);
            if (adapters != null) {
                adapters.beginForward();
                pass.held = adapters;
                AdapterSelection selection = AdapterSelection.current();
                if (selection != null) {
                    adapters.checkSelection(selection);
                }
            }
            TracedModel traced = TracedModels.of(block);
            if (traced != null) {
                traced.beginForward();
                pass.heldTraced = traced;
            }
        } catch (AdapterSelectionException e) {
            // A thread asked for adapters this model cannot run: the pass must not run with others.
            exitForward();
            throw e;
        } catch (Throwable t) {
            AdviceErrors.record("starting a forward pass", t);
        }
    }

    /** Leaving a block's forward, normally or by an exception. Never throws. */
    public static void exitForward() {
        try {
            Pass pass = PASS.get();
            if (pass.depth > 0 && --pass.depth == 0) {
                ModelAdapters held = pass.held;
                TracedModel heldTraced = pass.heldTraced;
                pass.held = null;
                pass.heldTraced = null;
                FusedWeights.clear();
                if (held != null) {
                    held.endForward();
                }
                if (heldTraced != null) {
                    heldTraced.endForward();
                }
                if (AFTER_PASS.get() != null) {
                    Runnable task = AFTER_PASS.getAndSet(null);
                    if (task != null) {
                        task.run();
                    }
                }
            }
        } catch (Throwable t) {
            AdviceErrors.record("ending a forward pass", t);
        }
    }

    /**
     * Woven at the start of PyTorch's {@code PtModel.load(Path, String, Map)}: the load options to use (see
     * {@link TracedLoading#options}). Never throws.
     */
    public static Object beforeModelLoad(Object model, Object options) {
        try {
            return TracedLoading.options(model, options);
        } catch (Throwable t) {
            AdviceErrors.record("preparing a model load", t);
            return options;
        }
    }

    /**
     * Woven before PyTorch's {@code PtModel.load} returns: tells the listener (which merges adapters into a traced
     * model), then restores the parameter state the application asked for. Only {@link InjectionFailure} escapes.
     *
     * @param event what happened ({@code loaded})
     */
    public static void modelLoaded(Object model, String event) {
        try {
            ModelLifecycleListener l = listener;
            if (l != null && !TracedLoading.isPeft4jLoad()) {
                l.modelLoaded((Model) model);
            }
        } catch (InjectionFailure e) {
            throw e;
        } catch (Throwable t) {
            AdviceErrors.record("adapting a loaded model", t);
        } finally {
            try {
                TracedLoading.loaded(model);
            } catch (Throwable t) {
                AdviceErrors.record("finishing a model load", t);
            }
        }
    }

    /**
     * {@link #trainerEvent} for step and close: only an adapter's failure under the policy {@code FAIL} reaches the
     * application.
     */
    public static void trainerEventQuietly(Object trainer, String event) {
        try {
            trainerEvent(trainer, event);
        } catch (AdapterFailure f) {
            throw f;
        } catch (Throwable t) {
            AdviceErrors.record("handling " + event, t);
        }
    }

    /**
     * A Trainer was created, initialised ({@code trainer-initialized}), stepped ({@code trainer-step}) or is closing
     * ({@code trainer-closing}).
     */
    public static void trainerEvent(Object trainer, String event) {
        switch (event) {
            case "trainer":
                TrainingHooks.trainer(trainer, "opened");
                break;
            case "trainer-closing":
                TrainingHooks.trainer(trainer, "closing");
                break;
            case "trainer-before-step":
                WeightChanges.beforeOptimizerStep();
                TrainingHooks.trainer(trainer, "before-step");
                return;
            case "trainer-step":
                WeightChanges.optimizerStepped();
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

    /**
     * A {@code GradientCollector} was created ({@code collector-opened}) or is closing ({@code collector-closing}):
     * caches of derived weights are off from then until the next optimizer step ({@link WeightChanges}). Never throws.
     */
    public static void collectorEvent(Object collector, String event) {
        if ("collector-opened".equals(event)) {
            WeightChanges.collectorOpened();
        } else {
            WeightChanges.collectorClosed();
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

    private static void notifyRoot(ModelLifecycleListener l, Block root, String trigger, Pass pass) {
        try {
            l.rootInUse(root, trigger);
        } catch (InjectionFailure e) {
            if (pass != null) {
                pass.depth--;
            }
            throw e;
        } catch (Throwable t) {
            AdviceErrors.record("injecting adapters on " + trigger, t);
        }
    }
}

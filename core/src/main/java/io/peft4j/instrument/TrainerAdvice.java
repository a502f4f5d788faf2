package io.peft4j.instrument;

import net.bytebuddy.asm.Advice;

/** Advice for {@code ai.djl.training.Trainer}: creation, {@code initialize} and {@code close}. */
public final class TrainerAdvice {

    private TrainerAdvice() {}

    /** After {@code new Trainer(model, config)}. */
    public static final class Created {
        private Created() {}

        /** Reports the model as in use by a trainer. */
        @Advice.OnMethodExit
        public static void exit(@Advice.This Object trainer) {
            ModelHooks.trainerEvent(trainer, "trainer");
        }
    }

    /** After {@code Trainer.initialize(Shape...)}. */
    public static final class Initialized {
        private Initialized() {}

        /** Reports the model as initialised by a trainer. */
        @Advice.OnMethodExit
        public static void exit(@Advice.This Object trainer) {
            ModelHooks.trainerEvent(trainer, "trainer-initialized");
        }
    }

    /** Around {@code Trainer.step()}. */
    public static final class Stepped {
        private Stepped() {}

        /** Before the optimizer runs (and DJL zeroes the gradients): lets adapters read this step's gradients. */
        @Advice.OnMethodEnter(suppress = Throwable.class)
        public static void enter(@Advice.This Object trainer) {
            ModelHooks.trainerEvent(trainer, "trainer-before-step");
        }

        /** Runs per-step adapter work (AdaLoRA's rank allocation). */
        @Advice.OnMethodExit(suppress = Throwable.class)
        public static void exit(@Advice.This Object trainer) {
            ModelHooks.trainerEvent(trainer, "trainer-step");
        }
    }

    /** Before {@code Trainer.close()}. */
    public static final class Closing {
        private Closing() {}

        /** Reports the end of training. */
        @Advice.OnMethodEnter(suppress = Throwable.class)
        public static void enter(@Advice.This Object trainer) {
            ModelHooks.trainerEvent(trainer, "trainer-closing");
        }
    }
}

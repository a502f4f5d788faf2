package io.peft4j.instrument;

import ai.djl.Model;
import ai.djl.nn.Block;

/**
 * Told when the application starts using a model, so that an agent can inject adapters without a line of application
 * code: when a {@code Trainer} or {@code Predictor} is created, when a Trainer finished {@code initialize}, and when a
 * block runs as the outermost forward on a thread.
 *
 * <p>Implementations throw {@link InjectionFailure} to stop the application (a configuration error must not leave a
 * silently unadapted model running); any other throwable is counted and logged, never propagated.
 */
public interface ModelLifecycleListener {

    /**
     * A root block is in use.
     *
     * @param root the model's root block
     * @param trigger what revealed it: {@code trainer}, {@code trainer-initialized}, {@code predictor} or
     *     {@code forward}
     */
    void rootInUse(Block root, String trigger);

    /** A Trainer of {@code model} is being closed (training ended). */
    default void trainingEnded(Model model) {}

    /**
     * The application loaded {@code model} from a file ({@code Criteria.loadModel}, {@code Model.load}); a traced
     * model's parameters exist from now on.
     */
    default void modelLoaded(Model model) {}
}

package io.peft4j.traced;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * An adapter whose merge is additive in factors it owns: {@code W = W0 + weightDelta()} and
 * {@code b = b0 + biasDelta()}, both differentiable functions of {@link #factors()}. That identity lets peft4j train
 * the factors on a traced model: with {@code G = dL/dW}, {@code dL/dθ = d/dθ sum(G ⊙ weightDelta(θ))}.
 */
public interface TrainableDelta {

    /** The trained arrays by slot ({@code lora_A.weight}, {@code lora_B.weight}); the live ones. */
    Map<String, NDArray> factors();

    /** The weight delta in the weight's layout, computed from the current factors. */
    NDArray weightDelta();

    /** The bias delta, or {@code null} when the adapter leaves the bias alone. */
    default NDArray biasDelta() {
        return null;
    }
}

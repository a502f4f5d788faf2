package io.peft4j.traced;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/** One adapter bound to one module of a traced model: its tensors and how they change the module's weights. */
public interface ModuleMerge {

    /** What the module is taken to be. */
    ModuleKind kind();

    /** For logs: {@code r=4, scaling=2.0}, {@code scales the output}, ... */
    String describe();

    /** The rank, or 0 where it does not apply. */
    int rank();

    /** The scaling of the delta, or 1 where it does not apply. */
    double scaling();

    /** The adapter's tensors in this module by slot ({@code lora_A.weight}), the live arrays. */
    Map<String, NDArray> tensors();

    /**
     * Merges into {@code module}'s weights in place, without gradient recording, through {@link WeightEdits}.
     *
     * @return how to take each change out again, in the order made
     */
    List<WeightEdits.Undo> merge(TracedModule module);

    /**
     * The merge as {@code W = W0 + delta(factors)}, for training by that identity.
     *
     * @throws UnsupportedOperationException with the reason when this adapter cannot be trained that way exactly
     */
    TrainableDelta trainable();
}

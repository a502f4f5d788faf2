package io.peft4j.traced;

import ai.djl.nn.Block;
import ai.djl.nn.SymbolBlock;
import io.peft4j.tuner.WeakIdentityMap;

import java.util.List;

/**
 * The traced models that carry adapters, by root block (held weakly: a model the application drops is collected
 * with its adapters). A traced model is a {@link SymbolBlock}: DJL's handle on a module it cannot see into.
 */
public final class TracedModels {

    private static final WeakIdentityMap<Block, TracedModel> MODELS = new WeakIdentityMap<>();

    private TracedModels() {}

    /** Whether {@code block} is a traced model (a {@link SymbolBlock}, e.g. a loaded TorchScript module). */
    public static boolean isTraced(Object block) {
        return block instanceof SymbolBlock;
    }

    /** The adapters of traced model {@code root}, or {@code null} (one map lookup: the forward hot path). */
    public static TracedModel of(Object root) {
        return root instanceof SymbolBlock ? MODELS.get((Block) root) : null;
    }

    /**
     * The adapters of traced model {@code root}, created on first use.
     *
     * @throws IllegalArgumentException when {@code root} is not a traced model
     */
    public static TracedModel forBlock(Block root) {
        if (!isTraced(root)) {
            throw new IllegalArgumentException(root.getClass().getName() + " is not a traced model (a SymbolBlock"
                    + " such as a loaded TorchScript module); use Peft.injectAdapter for block models");
        }
        return MODELS.computeIfAbsent(root, TracedModel::new);
    }

    /** Every traced model that carries adapters. */
    public static List<TracedModel> all() {
        return MODELS.values();
    }

    /** Forgets {@code root} (all its adapters were removed). */
    public static void remove(Block root) {
        MODELS.remove(root);
    }
}

package io.peft4j.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.transformer.IdEmbedding;

/**
 * One-line descriptions of blocks in PyTorch's terms, for logs: {@code Linear(16 -> 32)}, {@code Conv2d(3 -> 8,
 * k=3x3)}.
 */
public final class BlockShapes {

    private BlockShapes() {}

    /** Describes {@code block} by type and shape. */
    public static String describe(Block block) {
        String type = block.getClass().getSimpleName();
        Shape w = shape(block, block instanceof IdEmbedding || block instanceof Embedding ? "embedding" : "weight");
        if (w == null) {
            return type;
        }
        if (block instanceof Linear) {
            return type + "(" + w.get(1) + " -> " + w.get(0) + ")";
        }
        if (block instanceof IdEmbedding || block instanceof Embedding) {
            return type + "(" + w.get(0) + " ids -> " + w.get(1) + ")";
        }
        if (block instanceof Convolution) {
            Convolution c = (Convolution) block;
            StringBuilder k = new StringBuilder();
            for (long d : w.slice(2).getShape()) {
                k.append(k.length() == 0 ? "" : "x").append(d);
            }
            return type + "(" + w.get(1) * c.getGroups() + " -> " + w.get(0) + ", k=" + k
                    + (c.getGroups() > 1 ? ", groups=" + c.getGroups() : "") + ")";
        }
        return type + w;
    }

    private static Shape shape(Block block, String name) {
        Parameter p = block.getDirectParameters().contains(name) ? block.getDirectParameters().get(name) : null;
        return p == null || !p.isInitialized() ? null : p.getArray().getShape();
    }
}

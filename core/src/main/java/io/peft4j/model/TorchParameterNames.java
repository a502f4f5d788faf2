package io.peft4j.model;

import ai.djl.nn.Block;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.IdEmbedding;

/**
 * Maps DJL parameter names to the names PyTorch gives the same parameter ({@code embedding} of an embedding block is
 * torch's {@code weight}, {@code gamma}/{@code beta} of a norm are {@code weight}/{@code bias}, ...).
 */
public final class TorchParameterNames {

    private TorchParameterNames() {}

    /** The torch name of DJL parameter {@code djlName} of {@code block}. */
    public static String torchName(Block block, String djlName) {
        if ((block instanceof IdEmbedding || block instanceof Embedding) && "embedding".equals(djlName)) {
            return "weight";
        }
        if (block instanceof BatchNorm || block instanceof LayerNorm) {
            switch (djlName) {
                case "gamma":
                    return "weight";
                case "beta":
                    return "bias";
                case "runningMean":
                    return "running_mean";
                case "runningVar":
                    return "running_var";
                default:
                    return djlName;
            }
        }
        return djlName;
    }
}

package io.peft4j.traced;

/**
 * What a module of a traced model is, as far as adapters care. A traced model does not say which PyTorch class a
 * module was; the kind is read from its weight's shape and, where the shape cannot tell, from the adapter (its
 * tensors' names and shapes, or {@code fan_in_fan_out}).
 */
public enum ModuleKind {
    /** {@code nn.Linear}: weight {@code [out, in]}. */
    LINEAR("Linear", 2),
    /** transformers' {@code Conv1D} (GPT-2): weight {@code [in, out]}, PEFT's {@code fan_in_fan_out=True}. */
    CONV1D_FAN_IN_FAN_OUT("Conv1D (fan_in_fan_out)", 2),
    /** {@code nn.Embedding}: weight {@code [num_embeddings, embedding_dim]}. */
    EMBEDDING("Embedding", 2),
    /** {@code nn.Conv1d}: weight {@code [out, in/groups, k]}. */
    CONV1D("Conv1d", 3),
    /** {@code nn.Conv2d}: weight {@code [out, in/groups, kh, kw]}. */
    CONV2D("Conv2d", 4),
    /** {@code nn.Conv3d}: weight {@code [out, in/groups, kd, kh, kw]}. */
    CONV3D("Conv3d", 5);

    private final String label;
    private final int weightDims;

    ModuleKind(String label, int weightDims) {
        this.label = label;
        this.weightDims = weightDims;
    }

    /** For logs and errors: {@code Linear}, {@code Conv2d}, ... */
    public String label() {
        return label;
    }

    /** The number of dimensions of the weight. */
    public int weightDims() {
        return weightDims;
    }

    /** Whether the weight is stored transposed ({@code [in, out]}). */
    public boolean fanInFanOut() {
        return this == CONV1D_FAN_IN_FAN_OUT;
    }

    /** Whether this is a convolution ({@code Conv1d/2d/3d}). */
    public boolean isConvolution() {
        return weightDims >= 3;
    }

    /** The convolution of a weight with {@code dims} dimensions, or {@code null}. */
    public static ModuleKind convolutionOf(int dims) {
        switch (dims) {
            case 3:
                return CONV1D;
            case 4:
                return CONV2D;
            case 5:
                return CONV3D;
            default:
                return null;
        }
    }
}

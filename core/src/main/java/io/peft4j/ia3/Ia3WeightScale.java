package io.peft4j.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;
import io.peft4j.match.TargetMatcher;
import io.peft4j.traced.ModuleKind;
import io.peft4j.traced.ModuleMerge;
import io.peft4j.traced.TracedMethod;
import io.peft4j.traced.TracedModule;
import io.peft4j.traced.TracedShapes;
import io.peft4j.traced.TrainableDelta;
import io.peft4j.traced.WeightEdits;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * IA3 merged into a traced model's weights, as PEFT 0.20's {@code ia3.Linear.merge} and {@code ia3.Conv2d/3d.merge}:
 * the vector {@code ia3_l} scales the weight's input columns (feed-forward modules, {@code [1, in]}) or its output
 * rows and the bias ({@code [out, 1]}; {@code [1, c, 1, 1]} for convolutions; transposed for transformers
 * {@code Conv1D} with {@code fan_in_fan_out}). Whether a module is feed-forward is fixed by the first IA3 adapter
 * that reaches it, as PEFT's layer attribute {@code is_feedforward} is.
 */
public final class Ia3WeightScale implements TracedMethod {

    static final String VECTOR = "ia3_l";

    @Override
    public PeftType peftType() {
        return PeftType.IA3;
    }

    @Override
    public List<String> slots() {
        return List.of(VECTOR);
    }

    @Override
    public ModuleMerge bind(Binding binding) {
        IA3Config config = (IA3Config) binding.config();
        TracedModule module = binding.module();
        String path = module.path();
        Shape w = module.weightShape();
        ModuleKind kind;
        if (w.dimension() == 2) {
            kind = config.fanInFanOut() ? ModuleKind.CONV1D_FAN_IN_FAN_OUT : ModuleKind.LINEAR;
        } else if (w.dimension() == 4 || w.dimension() == 5) {
            kind = ModuleKind.convolutionOf(w.dimension());
        } else {
            throw new PeftConfigException("Target module '" + path + "' (" + module.describeParameters() + ") is not"
                    + " supported: IA3 adapts Linear, transformers Conv1D, Conv2d and Conv3d layers");
        }
        boolean feedforward = binding.memory().remember("ia3.is_feedforward:" + path,
                () -> TargetMatcher.isFeedforward(config.feedforwardModules(), path));
        long in;
        long out;
        Shape expected;
        if (kind.isConvolution()) {
            in = w.get(1);
            out = w.get(0);
            long[] dims = new long[w.dimension()];
            java.util.Arrays.fill(dims, 1);
            dims[1] = feedforward ? in : out;
            expected = new Shape(dims);
        } else {
            in = kind.fanInFanOut() ? w.get(0) : w.get(1);
            out = kind.fanInFanOut() ? w.get(1) : w.get(0);
            expected = feedforward ? new Shape(1, in) : new Shape(out, 1);
        }
        NDArray vector = binding.tensors().get(VECTOR);
        if (vector == null) {
            vector = config.initIa3Weights() ? binding.manager().ones(expected, DataType.FLOAT32)
                    : binding.manager().randomNormal(expected, DataType.FLOAT32);
        } else {
            TracedShapes.check(binding.key(VECTOR), vector.getShape(), expected, "module '" + path + "': "
                    + module.describeParameters() + ", " + (feedforward ? "feed-forward (scales the input)"
                            : "scales the output"));
            if (vector.getDataType() != DataType.FLOAT32) {
                vector = vector.toType(DataType.FLOAT32, false);
            }
        }
        return new Merge(kind, feedforward, vector);
    }

    /** One module's IA3 vector and how it merges. */
    private static final class Merge implements ModuleMerge {
        private final ModuleKind kind;
        private final boolean feedforward;
        private final NDArray vector;

        Merge(ModuleKind kind, boolean feedforward, NDArray vector) {
            this.kind = kind;
            this.feedforward = feedforward;
            this.vector = vector;
        }

        @Override
        public ModuleKind kind() {
            return kind;
        }

        @Override
        public String describe() {
            return feedforward ? "scales the input (feed-forward)" : "scales the output";
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public double scaling() {
            return 1;
        }

        @Override
        public Map<String, NDArray> tensors() {
            return Map.of(VECTOR, vector);
        }

        /** The factor the weight is multiplied by, broadcastable to it. */
        private NDArray weightFactor() {
            if (kind.isConvolution()) {
                return feedforward ? vector : vector.swapAxes(0, 1);
            }
            return kind.fanInFanOut() ? vector.transpose() : vector;
        }

        @Override
        public List<WeightEdits.Undo> merge(TracedModule module) {
            List<WeightEdits.Undo> undo = new ArrayList<>();
            undo.add(WeightEdits.replace(module.weight(), w -> w.mul(weightFactor()), "IA3 of '" + module.path()
                    + "'"));
            if (!feedforward && module.bias() != null) {
                undo.add(WeightEdits.replace(module.bias(), b -> b.mul(vector.reshape(b.getShape())),
                        "IA3 of '" + module.path() + "' (bias)"));
            }
            return undo;
        }

        @Override
        public TrainableDelta trainable() {
            throw new UnsupportedOperationException("IA3 cannot be trained on a traced model: peft4j trains traced "
                    + "models only by the identity W = W0 + s·B·A of LoRA without dropout; train IA3 on the model "
                    + "built from DJL blocks");
        }
    }
}

package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;
import io.peft4j.layer.Scalars;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.traced.ModuleKind;
import io.peft4j.traced.ModuleMerge;
import io.peft4j.traced.TracedMethod;
import io.peft4j.traced.TracedModule;
import io.peft4j.traced.TracedShapes;
import io.peft4j.traced.TrainableDelta;
import io.peft4j.traced.WeightEdits;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA merged into a traced model's weights, as PEFT 0.20's {@code adalora.SVDLinear.merge}:
 * {@code W += B·(A ⊙ E)·lora_alpha/(ranknum + 1e-5)} (transposed with {@code fan_in_fan_out}), with
 * {@code ranknum = init_r} and the number of ranks the saved tensors keep (fewer after rank allocation, see
 * {@link AdaLoraModules}).
 */
public final class AdaLoraWeightDelta implements TracedMethod {

    static final String A = "lora_A";
    static final String B = "lora_B";
    static final String E = "lora_E";

    @Override
    public PeftType peftType() {
        return PeftType.ADALORA;
    }

    @Override
    public List<String> slots() {
        return List.of(A, B, E);
    }

    @Override
    public ModuleMerge bind(Binding binding) {
        AdaLoraConfig config = (AdaLoraConfig) binding.config();
        TracedModule module = binding.module();
        String path = module.path();
        Shape w = module.weightShape();
        if (w.dimension() != 2) {
            throw new PeftConfigException("Target module '" + path + "' (" + module.describeParameters() + ") is not"
                    + " supported: AdaLoRA adapts Linear and transformers Conv1D layers");
        }
        ModuleKind kind = config.fanInFanOut() ? ModuleKind.CONV1D_FAN_IN_FAN_OUT : ModuleKind.LINEAR;
        long in = kind.fanInFanOut() ? w.get(0) : w.get(1);
        long out = kind.fanInFanOut() ? w.get(1) : w.get(0);
        int r = config.initR();
        List<Boolean> mask = config.rankMasks() == null ? null
                : config.rankMasks().get(AdaLoraModules.maskKey(path));
        if (mask != null) {
            r = (int) mask.stream().filter(Boolean::booleanValue).count();
        }
        String why = "module '" + path + "': " + module.describeParameters() + ", " + r + " ranks";
        Map<String, NDArray> t = binding.tensors();
        NDArray a = fetch(binding, A, new Shape(r, in), why);
        NDArray b = fetch(binding, B, new Shape(out, r), why);
        NDArray e = fetch(binding, E, new Shape(r, 1), why);
        if (t.isEmpty()) {
            boolean normal = config.initLoraWeights() != InitLoraWeights.FALSE;
            a = normal ? binding.manager().randomNormal(0f, 0.02f, new Shape(r, in), DataType.FLOAT32)
                    : binding.manager().randomNormal(new Shape(r, in), DataType.FLOAT32);
            b = normal ? binding.manager().randomNormal(0f, 0.02f, new Shape(out, r), DataType.FLOAT32)
                    : binding.manager().randomNormal(new Shape(out, r), DataType.FLOAT32);
            e = normal ? binding.manager().zeros(new Shape(r, 1), DataType.FLOAT32)
                    : binding.manager().randomNormal(new Shape(r, 1), DataType.FLOAT32);
        }
        double scaling = config.loraAlpha() > 0 ? config.loraAlpha() : r;
        return new Merge(kind, r, config.initR(), scaling, a, b, e);
    }

    private static NDArray fetch(Binding binding, String slot, Shape expected, String why) {
        NDArray t = binding.tensors().get(slot);
        if (t == null) {
            if (binding.hasWeights()) {
                throw new IllegalArgumentException("missing adapter key " + binding.key(slot) + " (shape "
                        + TracedShapes.str(expected) + ") for module '" + binding.module().path() + "'");
            }
            return null;
        }
        TracedShapes.check(binding.key(slot), t.getShape(), expected, why);
        return t.getDataType() == DataType.FLOAT32 ? t : t.toType(DataType.FLOAT32, false);
    }

    /** One module's SVD triplet and how it merges. */
    private static final class Merge implements ModuleMerge {
        private final ModuleKind kind;
        private final int r;
        private final int ranknum;
        private final double scaling;
        private final NDArray a;
        private final NDArray b;
        private final NDArray e;

        Merge(ModuleKind kind, int r, int ranknum, double scaling, NDArray a, NDArray b, NDArray e) {
            this.kind = kind;
            this.r = r;
            this.ranknum = ranknum;
            this.scaling = scaling;
            this.a = a;
            this.b = b;
            this.e = e;
        }

        @Override
        public ModuleKind kind() {
            return kind;
        }

        @Override
        public String describe() {
            return "r=" + r + ", scaling=lora_alpha/ranknum=" + scaling + "/" + ranknum;
        }

        @Override
        public int rank() {
            return r;
        }

        @Override
        public double scaling() {
            return scaling;
        }

        @Override
        public Map<String, NDArray> tensors() {
            Map<String, NDArray> out = new LinkedHashMap<>();
            out.put(A, a);
            out.put(B, b);
            out.put(E, e);
            return out;
        }

        private NDArray delta() {
            NDArray d = Scalars.mul(b.matMul(a.mul(e)), scaling / (ranknum + 1e-5));
            return kind.fanInFanOut() ? d.transpose() : d;
        }

        @Override
        public List<WeightEdits.Undo> merge(TracedModule module) {
            return List.of(WeightEdits.add(module.weight(), this::delta, "AdaLoRA of '" + module.path() + "'"));
        }

        @Override
        public TrainableDelta trainable() {
            throw new UnsupportedOperationException("AdaLoRA cannot be trained on a traced model: its rank "
                    + "allocation and orthogonal regularisation need the adapter's own forward pass; train it on "
                    + "the model built from DJL blocks");
        }
    }
}

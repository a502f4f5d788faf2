package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;
import io.peft4j.layer.Scalars;
import io.peft4j.log.PeftLog;
import io.peft4j.traced.ModuleKind;
import io.peft4j.traced.ModuleMerge;
import io.peft4j.traced.TracedMethod;
import io.peft4j.traced.TracedModule;
import io.peft4j.traced.TracedShapes;
import io.peft4j.traced.TrainableDelta;
import io.peft4j.traced.WeightEdits;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA merged into a traced model's weights, as PEFT 0.20's {@code lora.Linear}, {@code lora.Embedding} and
 * {@code lora._ConvNd} merge ({@code tuners/lora/layer.py}, {@code variants.py}, {@code dora.py}):
 * <ul>
 *   <li>Linear {@code W += s·B·A}; transformers {@code Conv1D} ({@code fan_in_fan_out}, weight {@code [in, out]})
 *       {@code W += s·(B·A)ᵀ}; Embedding {@code W += s·(B·A)ᵀ}; Conv {@code W += s·(B·A)} reshaped to the
 *       kernel; {@code s = lora_alpha/r} or {@code lora_alpha/√r} (rsLoRA), rank and alpha by pattern;</li>
 *   <li>{@code lora_bias}: {@code b += s·lora_B.bias};</li>
 *   <li>DoRA: {@code W' = (m/‖W + ΔW‖)·(W + ΔW)} with the norm per output row (Linear, Conv1D), per embedding
 *       dimension over the vocabulary (Embedding) or per output channel (Conv), {@code m} the magnitude vector.</li>
 * </ul>
 * Which of these a module is comes from its weight's shape, the saved tensors' names and shapes and
 * {@code fan_in_fan_out} (see {@link ModuleKind}).
 */
public final class LoraWeightDelta implements TracedMethod {

    static final String A = "lora_A.weight";
    static final String B = "lora_B.weight";
    static final String B_BIAS = "lora_B.bias";
    static final String EMBEDDING_A = "lora_embedding_A";
    static final String EMBEDDING_B = "lora_embedding_B";
    static final String MAGNITUDE = "lora_magnitude_vector";

    private static final PeftLog LOG = PeftLog.get(LoraWeightDelta.class);

    @Override
    public PeftType peftType() {
        return PeftType.LORA;
    }

    @Override
    public List<String> slots() {
        return List.of(A, B, B_BIAS, EMBEDDING_A, EMBEDDING_B, MAGNITUDE);
    }

    @Override
    public boolean savesBaseParameter(AdapterConfig config, String parameterName, boolean targeted) {
        LoraBias bias = ((LoraConfig) config).bias();
        return parameterName.endsWith(".bias")
                && (bias == LoraBias.ALL || bias == LoraBias.LORA_ONLY && targeted);
    }

    @Override
    public ModuleMerge bind(Binding binding) {
        LoraConfig config = (LoraConfig) binding.config();
        String path = binding.module().path();
        int r = config.rankFor(path);
        double scaling = config.scalingFor(path);
        ModuleKind kind = kind(binding, config, r);
        Shape w = binding.module().weightShape();
        Map<String, NDArray> t = binding.tensors();
        for (String slot : t.keySet()) {
            boolean wanted = kind == ModuleKind.EMBEDDING ? slot.equals(EMBEDDING_A) || slot.equals(EMBEDDING_B)
                    : slot.equals(A) || slot.equals(B) || slot.equals(B_BIAS) && config.loraBias();
            if (!wanted && !(slot.equals(MAGNITUDE) && config.useDora())) {
                throw new IllegalArgumentException("unexpected key " + binding.key(slot) + " for " + kind.label()
                        + " module '" + path + "' (use_dora=" + config.useDora() + ", lora_bias=" + config.loraBias()
                        + ")");
            }
        }
        if (config.loraBias() && kind == ModuleKind.EMBEDDING) {
            throw new PeftConfigException("lora_bias=True is not supported for Embedding (module '" + path + "')");
        }
        if (config.loraBias() && binding.module().bias() == null) {
            throw new PeftConfigException("`lora_bias=True` was passed but the targeted module '" + path + "' ("
                    + kind.label() + ", " + binding.module().describeParameters() + ") has no bias");
        }
        Shapes s = Shapes.of(kind, w, r, binding, path);
        String aSlot = kind == ModuleKind.EMBEDDING ? EMBEDDING_A : A;
        String bSlot = kind == ModuleKind.EMBEDDING ? EMBEDDING_B : B;
        NDArray a = tensor(binding, aSlot, s.a, () -> initA(binding.manager(), kind, s.a, config));
        NDArray b = tensor(binding, bSlot, s.b, () -> init(binding.manager(), s.b, config.initLoraWeights()
                == InitLoraWeights.FALSE && kind != ModuleKind.EMBEDDING, kind == ModuleKind.EMBEDDING));
        NDArray bias = !config.loraBias() ? null : tensor(binding, B_BIAS, new Shape(s.out),
                () -> binding.manager().zeros(new Shape(s.out), DataType.FLOAT32));
        if (s.groups > 1) {
            throw new PeftConfigException("Merging is not supported for _ConvNd layers with groups > 1! (module '"
                    + path + "', groups=" + s.groups + "): a traced model can only carry merged adapters");
        }
        Merge merge = new Merge(kind, r, scaling, w, config.loraDropout(), a, b, bias, aSlot, bSlot);
        if (config.useDora()) {
            merge.magnitude = tensor(binding, MAGNITUDE, s.magnitude, () -> merge.initialMagnitude(
                    binding.module().weight().getArray(), s.magnitude));
        }
        return merge;
    }

    private static NDArray tensor(Binding binding, String slot, Shape expected,
            java.util.function.Supplier<NDArray> fresh) {
        NDArray t = binding.tensors().get(slot);
        if (t == null) {
            if (binding.hasWeights()) {
                throw new IllegalArgumentException("missing adapter key " + binding.key(slot) + " (shape "
                        + TracedShapes.str(expected) + ") for module '" + binding.module().path() + "'");
            }
            return fresh.get();
        }
        TracedShapes.check(binding.key(slot), t.getShape(), expected, "module '" + binding.module().path() + "': "
                + binding.module().describeParameters());
        return t.getDataType() == DataType.FLOAT32 ? t : t.toType(DataType.FLOAT32, false);
    }

    /** The module kind from its weight, the saved tensors and {@code fan_in_fan_out}. */
    private static ModuleKind kind(Binding binding, LoraConfig config, int r) {
        String path = binding.module().path();
        Shape w = binding.module().weightShape();
        Map<String, NDArray> t = binding.tensors();
        boolean embedding = t.containsKey(EMBEDDING_A) || t.containsKey(EMBEDDING_B);
        boolean linear = t.containsKey(A) || t.containsKey(B);
        if (embedding && linear) {
            throw new IllegalArgumentException("module '" + path + "' has both lora_A/lora_B and "
                    + "lora_embedding_A/lora_embedding_B tensors; PEFT saves one or the other");
        }
        int dims = w.dimension();
        if (embedding) {
            if (dims != 2) {
                throw new PeftConfigException("module '" + path + "' has lora_embedding tensors but its weight "
                        + TracedShapes.str(w) + " is not an embedding table [num_embeddings, embedding_dim]");
            }
            return ModuleKind.EMBEDDING;
        }
        if (dims >= 3 && dims <= 5) {
            return ModuleKind.convolutionOf(dims);
        }
        if (dims != 2) {
            throw new PeftConfigException("Target module '" + path + "' (" + binding.module().describeParameters()
                    + ") is not supported: LoRA adapts Linear, Embedding, Conv1d/2d/3d and transformers Conv1D "
                    + "layers, and a " + dims + "-D weight is none of them");
        }
        boolean fif = config.fanInFanOut();
        if (!linear) {
            if (binding.module().bias() == null && !fif) {
                throw new PeftConfigException("module '" + path + "' is ambiguous: its weight " + TracedShapes.str(w)
                        + " has no bias, and a traced model does not tell a Linear without bias from an Embedding;"
                        + " peft4j decides from the adapter's tensors (lora_A/lora_B: Linear, lora_embedding_A/B:"
                        + " Embedding), and this adapter has none. Start from an adapter_model.safetensors"
                        + " (e.g. saved by PEFT or peft4j with the initial weights)");
            }
            return fif ? ModuleKind.CONV1D_FAN_IN_FAN_OUT : ModuleKind.LINEAR;
        }
        long in = t.containsKey(A) && t.get(A).getShape().dimension() == 2 ? t.get(A).getShape().get(1) : -1;
        long out = t.containsKey(B) && t.get(B).getShape().dimension() == 2 ? t.get(B).getShape().get(0) : -1;
        boolean fitsLinear = (in < 0 || in == w.get(1)) && (out < 0 || out == w.get(0));
        boolean fitsTransposed = (in < 0 || in == w.get(0)) && (out < 0 || out == w.get(1));
        if (fitsLinear && fitsTransposed) {
            return fif ? ModuleKind.CONV1D_FAN_IN_FAN_OUT : ModuleKind.LINEAR;
        }
        if (fitsTransposed) {
            if (!fif) {
                LOG.warn("fan_in_fan_out is set to False but the target module '{}' has its weight {} laid out as "
                        + "[in, out] (transformers Conv1D). Setting fan_in_fan_out to True.", path,
                        TracedShapes.str(w));
            }
            return ModuleKind.CONV1D_FAN_IN_FAN_OUT;
        }
        if (fitsLinear) {
            if (fif) {
                LOG.warn("fan_in_fan_out is set to True but the target module '{}' has its weight {} laid out as "
                        + "[out, in] (torch.nn.Linear). Setting fan_in_fan_out to False.", path, TracedShapes.str(w));
            }
            return ModuleKind.LINEAR;
        }
        ModuleKind assumed = fif ? ModuleKind.CONV1D_FAN_IN_FAN_OUT : ModuleKind.LINEAR;
        long expectedIn = fif ? w.get(0) : w.get(1);
        String why = "module '" + path + "': " + binding.module().describeParameters() + ", read as "
                + assumed.label() + (fif ? " [in, out]" : " [out, in]");
        if (in >= 0 && in != expectedIn) {
            throw TracedShapes.sizeMismatch(binding.key(A), t.get(A).getShape(), new Shape(r, expectedIn), why);
        }
        throw TracedShapes.sizeMismatch(binding.key(B), t.get(B).getShape(), new Shape(fif ? w.get(1) : w.get(0), r),
                why);
    }

    /** The shapes PEFT gives a module's tensors. */
    private static final class Shapes {
        Shape a;
        Shape b;
        Shape magnitude;
        long out;
        long groups = 1;

        static Shapes of(ModuleKind kind, Shape w, int r, Binding binding, String path) {
            Shapes s = new Shapes();
            switch (kind) {
                case LINEAR:
                case CONV1D_FAN_IN_FAN_OUT:
                    long in = kind.fanInFanOut() ? w.get(0) : w.get(1);
                    s.out = kind.fanInFanOut() ? w.get(1) : w.get(0);
                    s.a = new Shape(r, in);
                    s.b = new Shape(s.out, r);
                    s.magnitude = new Shape(s.out);
                    return s;
                case EMBEDDING:
                    s.out = w.get(1);
                    s.a = new Shape(r, w.get(0));
                    s.b = new Shape(w.get(1), r);
                    s.magnitude = new Shape(w.get(1));
                    return s;
                default:
                    s.out = w.get(0);
                    NDArray saved = binding.tensors().get(A);
                    if (saved != null && saved.getShape().dimension() == w.dimension()
                            && saved.getShape().get(1) % w.get(1) == 0) {
                        s.groups = saved.getShape().get(1) / w.get(1);
                    }
                    s.a = new Shape(r, w.get(1) * s.groups).addAll(w.slice(2));
                    long[] ones = new long[w.dimension() - 2];
                    java.util.Arrays.fill(ones, 1);
                    s.b = new Shape(s.out, r / s.groups).addAll(new Shape(ones));
                    long[] m = new long[w.dimension()];
                    java.util.Arrays.fill(m, 1);
                    m[1] = s.out;
                    s.magnitude = new Shape(m);
                    return s;
            }
        }
    }

    private static NDArray initA(NDManager manager, ModuleKind kind, Shape shape, LoraConfig config) {
        if (kind == ModuleKind.EMBEDDING) {
            return config.initLoraWeights() == InitLoraWeights.FALSE ? manager.randomNormal(shape, DataType.FLOAT32)
                    : manager.zeros(shape, DataType.FLOAT32);
        }
        if (config.initLoraWeights() == InitLoraWeights.GAUSSIAN) {
            return manager.randomNormal(0f, 1f / shape.get(0), shape, DataType.FLOAT32);
        }
        return init(manager, shape, true, false);
    }

    /** Zeros, or torch's default Kaiming-uniform ({@code uniform}), or standard normal ({@code normal}). */
    private static NDArray init(NDManager manager, Shape shape, boolean uniform, boolean normal) {
        if (normal) {
            return manager.randomNormal(shape, DataType.FLOAT32);
        }
        if (!uniform) {
            return manager.zeros(shape, DataType.FLOAT32);
        }
        float bound = (float) (1.0 / Math.sqrt(shape.size() / shape.get(0)));
        return manager.randomUniform(-bound, bound, shape, DataType.FLOAT32);
    }

    /** One module's LoRA (or DoRA) tensors and how they merge. */
    private static final class Merge implements ModuleMerge {
        private final ModuleKind kind;
        private final int r;
        private final double scaling;
        private final Shape weightShape;
        private final double dropout;
        private final NDArray a;
        private final NDArray b;
        private final NDArray bias;
        private final String aSlot;
        private final String bSlot;
        NDArray magnitude;

        Merge(ModuleKind kind, int r, double scaling, Shape weightShape, double dropout, NDArray a, NDArray b,
                NDArray bias, String aSlot, String bSlot) {
            this.kind = kind;
            this.r = r;
            this.scaling = scaling;
            this.weightShape = weightShape;
            this.dropout = dropout;
            this.a = a;
            this.b = b;
            this.bias = bias;
            this.aSlot = aSlot;
            this.bSlot = bSlot;
        }

        @Override
        public ModuleKind kind() {
            return kind;
        }

        @Override
        public String describe() {
            return "r=" + r + ", scaling=" + scaling + (magnitude != null ? ", DoRA" : "")
                    + (bias != null ? ", lora_bias" : "");
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
            out.put(aSlot, a);
            out.put(bSlot, b);
            if (bias != null) {
                out.put(B_BIAS, bias);
            }
            if (magnitude != null) {
                out.put(MAGNITUDE, magnitude);
            }
            return Collections.unmodifiableMap(out);
        }

        /** {@code s·B·A} in the base weight's layout, from the current factors (differentiable in them). */
        NDArray delta() {
            switch (kind) {
                case LINEAR:
                    return Scalars.mul(b.matMul(a), scaling);
                case CONV1D_FAN_IN_FAN_OUT:
                case EMBEDDING:
                    return Scalars.mul(b.matMul(a).transpose(), scaling);
                default:
                    return Scalars.mul(b.reshape(b.getShape().get(0), -1).matMul(a.reshape(a.getShape().get(0), -1))
                            .reshape(weightShape), scaling);
            }
        }

        /** DoRA's {@code m / ‖W + ΔW‖}, shaped to broadcast over the weight. */
        private NDArray doraFactor(NDArray weight, NDArray delta) {
            NDArray v = weight.add(delta);
            switch (kind) {
                case LINEAR:
                    return magnitude.div(v.square().sum(new int[] {1}).sqrt()).reshape(-1, 1);
                case CONV1D_FAN_IN_FAN_OUT:
                case EMBEDDING:
                    return magnitude.div(v.square().sum(new int[] {0}).sqrt()).reshape(1, -1);
                default:
                    int[] axes = new int[weightShape.dimension() - 1];
                    for (int i = 0; i < axes.length; i++) {
                        axes[i] = i + 1;
                    }
                    long[] view = new long[weightShape.dimension()];
                    java.util.Arrays.fill(view, 1);
                    view[0] = -1;
                    return magnitude.reshape(-1).div(v.square().sum(axes).sqrt()).reshape(new Shape(view));
            }
        }

        /** PEFT's initial magnitude: the norms of {@code W + s·B·A} in the layout of {@link #doraFactor}. */
        NDArray initialMagnitude(NDArray weight, Shape shape) {
            try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                NDArray m = norms(weight.add(delta())).reshape(shape);
                ai.djl.ndarray.NDScope.unregister(m);
                m.attach(a.getManager());
                return m;
            }
        }

        private NDArray norms(NDArray v) {
            NDArray norm;
            switch (kind) {
                case LINEAR:
                    norm = v.square().sum(new int[] {1}).sqrt();
                    break;
                case CONV1D_FAN_IN_FAN_OUT:
                case EMBEDDING:
                    norm = v.square().sum(new int[] {0}).sqrt();
                    break;
                default:
                    int[] axes = new int[weightShape.dimension() - 1];
                    for (int i = 0; i < axes.length; i++) {
                        axes[i] = i + 1;
                    }
                    norm = v.square().sum(axes).sqrt();
            }
            return norm;
        }

        @Override
        public List<WeightEdits.Undo> merge(TracedModule module) {
            List<WeightEdits.Undo> undo = new ArrayList<>();
            if (magnitude != null) {
                undo.add(WeightEdits.replace(module.weight(), w -> {
                    NDArray d = delta();
                    return doraFactor(w, d).mul(w.add(d));
                }, "DoRA of '" + module.path() + "'"));
            } else {
                undo.add(WeightEdits.add(module.weight(), this::delta, "LoRA of '" + module.path() + "'"));
            }
            if (bias != null) {
                undo.add(WeightEdits.add(module.bias(), () -> Scalars.mul(bias, scaling),
                        "lora_bias of '" + module.path() + "'"));
            }
            return undo;
        }

        @Override
        public TrainableDelta trainable() {
            if (magnitude != null) {
                throw new UnsupportedOperationException("DoRA (use_dora=true) cannot be trained on a traced model: "
                        + "its merge m·(W + s·B·A)/‖W + s·B·A‖ is not additive in the factors, so dL/dA and dL/dB do "
                        + "not follow from dL/dW alone; train it on the model built from DJL blocks");
            }
            if (dropout > 0) {
                throw new UnsupportedOperationException("lora_dropout=" + dropout + " cannot be trained on a traced "
                        + "model: dropout acts on the adapter's input x, which the merged weight never sees; set "
                        + "lora_dropout to 0.0 or train on the model built from DJL blocks");
            }
            Map<String, NDArray> factors = new LinkedHashMap<>();
            factors.put(aSlot, a);
            factors.put(bSlot, b);
            if (bias != null) {
                factors.put(B_BIAS, bias);
            }
            return new TrainableDelta() {
                @Override
                public Map<String, NDArray> factors() {
                    return factors;
                }

                @Override
                public NDArray weightDelta() {
                    return delta();
                }

                @Override
                public NDArray biasDelta() {
                    return bias == null ? null : Scalars.mul(bias, scaling);
                }
            };
        }
    }
}

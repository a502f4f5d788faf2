package io.peft4j.layer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfig;
import io.peft4j.golden.GoldenCase;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.GarbageCollections;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.Set;
import java.util.stream.Stream;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import org.junit.jupiter.api.Test;

/**
 * Gradients through a multiplication by a Java number survive a garbage collection between forward and backward
 * ({@link Scalars}): the collection is forced there, the freed native memory is overwritten, and the gradients must
 * equal those of the same pass without it, bit for bit. With DJL's {@code mul(Number)} in these places the gradients
 * came out as 1e22-1e34 (the first test fails that way when {@code Scalars.mul} calls {@code x.mul((float) factor)}).
 */
class ScalarsTest {

    /** Direct buffers over the freed scalars' memory, kept until the backward ran. */
    private final List<ByteBuffer> litter = new ArrayList<>();

    /** A completed collection, its freed memory then littered ({@link GarbageCollections#collectAndLitter}). */
    private void collectGarbageAndLitter() throws InterruptedException {
        litter.addAll(GarbageCollections.collectAndLitter());
    }

    /** The gradient of {@code sum(op(x))} with respect to {@code x}, with or without a collection before backward. */
    private float[] gradient(NDManager m, Function<NDArray, NDArray> op, boolean collect) throws InterruptedException {
        NDArray x = m.create(new float[] {0.5f, -1f, 2f, 0.25f});
        x.setRequiresGradient(true);
        try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
            NDArray loss = op.apply(x).sum();
            if (collect) {
                collectGarbageAndLitter();
            }
            c.backward(loss);
        }
        return x.getGradient().toFloatArray();
    }

    @Test
    void gradientsThroughEachOperationSurviveACollectionBeforeBackward() throws InterruptedException {
        Map<String, Function<NDArray, NDArray>> ops = new LinkedHashMap<>();
        ops.put("mul", v -> Scalars.mul(v, 2.5));
        ops.put("muli", v -> Scalars.muli(v.mul(v), 2.5));
        ops.put("div", v -> Scalars.div(v, 4));
        try (NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f, 2.5f}, gradient(m, ops.get("mul"), true), "mul");
            assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, gradient(m, ops.get("div"), true), "div");
            for (Map.Entry<String, Function<NDArray, NDArray>> op : ops.entrySet()) {
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(gradient(m, op.getValue(), false), gradient(m, op.getValue(), true),
                            op.getKey() + ", pass " + i);
                }
            }
        }
    }

    /**
     * With peft4j's instrumentation, DJL's own Number overloads are safe too ({@code ScalarHooks} gives a number's
     * 0-dim array libtorch's memory while a collector is open): {@code x.mul(2.5f)}, {@code x.div(4)} and DJL's
     * {@code L2Loss} ({@code square().mul(0.5f)}) give the same gradients with a collection before backward.
     */
    @Test
    void djlsOwnNumberOverloadsAreSafeOnceInstrumented() throws InterruptedException {
        io.peft4j.instrument.PeftInstrumentation.ensureInstalled();
        Map<String, Function<NDArray, NDArray>> ops = new LinkedHashMap<>();
        ops.put("DJL mul(Number)", v -> v.mul(2.5f));
        ops.put("DJL div(Number)", v -> v.div(4));
        ops.put("DJL L2Loss", v -> new ai.djl.training.loss.L2Loss().evaluate(new NDList(v.zerosLike()),
                new NDList(v)));
        try (NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f, 2.5f}, gradient(m, ops.get("DJL mul(Number)"), true));
            for (Map.Entry<String, Function<NDArray, NDArray>> op : ops.entrySet()) {
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(gradient(m, op.getValue(), false), gradient(m, op.getValue(), true),
                            op.getKey() + ", pass " + i);
                }
            }
        }
    }

    /** The adapter parameters' gradients of one training forward and backward of {@code model}. */
    private Map<String, float[]> adapterGradients(Block model, NDArray input, boolean collect)
            throws InterruptedException {
        NDManager m = input.getManager();
        try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
            NDArray out = model.forward(new ParameterStore(m, false), new NDList(input), true).head();
            NDArray loss = out.square().sum();
            if (collect) {
                collectGarbageAndLitter();
            }
            c.backward(loss);
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            if (p.getValue().requiresGradient()) {
                NDArray g = p.getValue().getArray().getGradient();
                grads.put(p.getKey(), g.toFloatArray());
                g.subi(g.duplicate()); // zero for the next pass
            }
        }
        return grads;
    }

    private void assertGradientsSurvive(String caseName, AdapterConfig config) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            GoldenCase c = GoldenCase.named(caseName);
            Block model = c.buildBaseModel(m);
            Peft.injectAdapter(config, model);
            NDArray x = c.input(m);
            // a first pass creates the gradient buffers; every later one adds onto zeros (so -0.0 stays comparable)
            adapterGradients(model, x, false);
            Map<String, float[]> plain = adapterGradients(model, x, false);
            assertTrue(plain.size() >= 2, () -> "adapter parameters " + plain.keySet());
            for (int i = 0; i < 2; i++) {
                Map<String, float[]> collected = adapterGradients(model, x, true);
                assertEquals(plain.keySet(), collected.keySet());
                for (String name : plain.keySet()) {
                    assertArrayEquals(plain.get(name), collected.get(name), caseName + " " + name + ", pass " + i);
                }
            }
        }
    }

    @Test
    void doraAndLoraBiasTrainingGradientsSurviveACollectionBeforeBackward() throws Exception {
        assertGradientsSurvive("b1_lora_mlp", LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1"))
                .useDora(true).initLoraWeights(io.peft4j.lora.InitLoraWeights.FALSE).build());
        assertGradientsSurvive("b1_lora_mlp", LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc2"))
                .loraBias(true).initLoraWeights(io.peft4j.lora.InitLoraWeights.FALSE).build());
    }

    @Test
    void embeddingConvolutionAndAdaLoraTrainingGradientsSurviveACollectionBeforeBackward() throws Exception {
        for (String caseName : List.of("c1_lora_embedding", "c2_lora_conv2d", "e_adalora_mlp")) {
            AdapterConfig config = io.peft4j.config.AdapterConfigs.read(GoldenCase.named(caseName).dir());
            assertGradientsSurvive(caseName, config);
        }
    }

    /**
     * No class of core calls an {@code NDArray} operation whose other operand is a Java {@code Number} and which
     * autograd may keep for backward (read from the compiled classes, so whatever the expression's spelling).
     */
    @Test
    void coreCallsNoNumberOperandOverloadOfDjl() throws IOException {
        Set<String> kept = Set.of("mul", "muli", "div", "divi", "pow", "powi", "rdiv", "rdivi", "rpow", "rpowi",
                "maximum", "minimum");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("target/classes"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                new ClassReader(Files.readAllBytes(f)).accept(new ClassVisitor(Opcodes.ASM9) {
                    @Override
                    public MethodVisitor visitMethod(int access, String method, String descriptor, String signature,
                            String[] exceptions) {
                        return new MethodVisitor(Opcodes.ASM9) {
                            @Override
                            public void visitMethodInsn(int opcode, String owner, String name, String desc,
                                    boolean isInterface) {
                                if (owner.startsWith("ai/djl/ndarray/") && kept.contains(name)
                                        && desc.startsWith("(Ljava/lang/Number;)")) {
                                    found.add(f.getFileName() + " " + method + ": " + owner + "." + name + desc);
                                }
                            }
                        };
                    }
                }, ClassReader.SKIP_DEBUG);
            }
        }
        assertTrue(found.size() < 1_000 && Files.isDirectory(Path.of("target/classes/io/peft4j/layer")));
        assertEquals(List.of(), found, "use Scalars.mul/muli/div: DJL's Number overloads lend libtorch a Java buffer"
                + " the garbage collector may free before backward");
    }
}

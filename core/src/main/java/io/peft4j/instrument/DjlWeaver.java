package io.peft4j.instrument;

import io.peft4j.log.PeftLog;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.Label;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import net.bytebuddy.jar.asm.Type;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Weaves peft4j's hooks into DJL's bytecode with plain ASM (Byte Buddy's repackaged copy): a few static calls at the
 * start of a method or before its returns, and one try/catch around {@code AbstractBaseBlock.forward}. No new
 * method, field or local variable (retransformation allowed), no class loaded while a class is transformed (no
 * circularity), no frame computation (the inserted code is straight-line; the one handler gets its frame from the
 * method descriptor). About forty ASM classes instead of Byte Buddy's ~1,200 at start-up.
 *
 * <p>What is woven (every hook catches and counts its own throwables, see {@link AdviceErrors}, except
 * {@link InjectionFailure}, which is meant for the application):
 * <ul>
 *   <li>{@code forwardInternal(ParameterStore, NDList, boolean, PairList)} of {@code Linear}, {@code Embedding},
 *       {@code IdEmbedding}, {@code Convolution}: {@link ForwardHooks#enterModule} may replace the input,
 *       {@link ForwardHooks#exitModule} the output;</li>
 *   <li>both 4-argument {@code forward} of {@code AbstractBaseBlock}: {@link ModelHooks#enterForward} before,
 *       {@link ModelHooks#exitForward} after, also when it throws;</li>
 *   <li>{@code AbstractBaseBlock.getParameters()}: {@link ParameterHooks#appendAttached};</li>
 *   <li>{@code ParameterStore.getValue(Parameter, Device, boolean)}: {@link ParameterHooks#substituteValue};</li>
 *   <li>{@code Trainer}: constructors and {@code initialize} ({@link ModelHooks#trainerEvent}), {@code step()}
 *       before and after, {@code close()} before ({@link ModelHooks#trainerEventQuietly});</li>
 *   <li>{@code Predictor}'s 4-argument constructor: {@link ModelHooks#modelInUse};</li>
 *   <li>{@code Predictor.batchPredict(List)} (which {@code predict} calls): {@link RequestHooks#enterBatch} before,
 *       {@link RequestHooks#exitBatch} after, also when it throws;</li>
 *   <li>{@code backward(NDArray)} of every class implementing {@code GradientCollector}:
 *       {@link TrainingHooks#beforeBackward} may replace the loss, {@link TrainingHooks#afterBackward} runs before
 *       each return; its constructors (after) and {@code close()} (before): {@link ModelHooks#collectorEvent};</li>
 *   <li>PyTorch's {@code PtModel.load(Path, String, Map)}: {@link ModelHooks#beforeModelLoad} may replace the
 *       options, {@link ModelHooks#modelLoaded} runs before each return (also of {@code load(InputStream,
 *       boolean)});</li>
 *   <li>PyTorch's {@code PtNDManager.create(Buffer, Shape, DataType)}: {@link ScalarHooks#owned} before each return
 *       (a number's 0-dim array gets libtorch's memory while a collector is open).</li>
 * </ul>
 *
 * <p>Longer than most classes (about 500 lines) on purpose: one class visitor and eight small method visitors, each
 * a few ASM instructions, kept in one file so that every woven call site reads next to the descriptors it relies on.
 */
final class DjlWeaver implements ClassFileTransformer {

    private static final PeftLog LOG = PeftLog.get(DjlWeaver.class);

    static final String LINEAR = "ai/djl/nn/core/Linear";
    static final String BLOCK = "ai/djl/nn/AbstractBaseBlock";
    static final String STORE = "ai/djl/training/ParameterStore";
    static final String TRAINER = "ai/djl/training/Trainer";
    static final String PREDICTOR = "ai/djl/inference/Predictor";
    static final String COLLECTOR = "ai/djl/training/GradientCollector";
    static final String PT_MODEL = "ai/djl/pytorch/engine/PtModel";
    static final String PT_MANAGER = "ai/djl/pytorch/engine/PtNDManager";
    static final java.util.Set<String> MODULES = java.util.Set.of(LINEAR, "ai/djl/nn/core/Embedding",
            "ai/djl/nn/transformer/IdEmbedding", "ai/djl/nn/convolutional/Convolution");

    private static final String HOOKS = "io/peft4j/instrument/";
    private static final String OBJECT = "Ljava/lang/Object;";
    private static final String MODEL_LOAD = "(Ljava/nio/file/Path;Ljava/lang/String;Ljava/util/Map;)V";
    private static final String STREAM_LOAD = "(Ljava/io/InputStream;Z)V";
    private static final String CREATE = "(Ljava/nio/Buffer;Lai/djl/ndarray/types/Shape;"
            + "Lai/djl/ndarray/types/DataType;)Lai/djl/pytorch/engine/PtNDArray;";
    private static final String MODULE_FORWARD = "(Lai/djl/training/ParameterStore;Lai/djl/ndarray/NDList;Z"
            + "Lai/djl/util/PairList;)Lai/djl/ndarray/NDList;";

    private final Map<String, Boolean> collectors = new ConcurrentHashMap<>();

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined,
            ProtectionDomain domain, byte[] bytes) {
        if (className == null || !className.startsWith("ai/djl/")) {
            return null;
        }
        try {
            ClassReader reader = new ClassReader(bytes);
            boolean collector = !MODULES.contains(className) && !isKnown(className)
                    && (reader.getAccess() & Opcodes.ACC_INTERFACE) == 0 && implementsCollector(reader, loader);
            if (!collector && !MODULES.contains(className) && !isKnown(className)) {
                return null;
            }
            ClassWriter writer = new ClassWriter(0);
            reader.accept(new Weaving(writer, className, collector), ClassReader.EXPAND_FRAMES);
            byte[] woven = writer.toByteArray();
            PeftInstrumentation.transformed(className.replace('/', '.'), redefined != null);
            return woven;
        } catch (Throwable t) {
            PeftInstrumentation.transformError(className.replace('/', '.'), t);
            return null;
        }
    }

    private static boolean isKnown(String className) {
        return BLOCK.equals(className) || STORE.equals(className) || TRAINER.equals(className)
                || PREDICTOR.equals(className) || PT_MODEL.equals(className) || PT_MANAGER.equals(className);
    }

    /** Whether the DJL class name (internal form) of a loaded class is one this weaver changes. */
    boolean wants(Class<?> type) {
        String name = type.getName().replace('.', '/');
        if (!name.startsWith("ai/djl/")) {
            return false;
        }
        if (MODULES.contains(name) || isKnown(name)) {
            return true;
        }
        if (type.isInterface()) {
            return false;
        }
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                if (implementsCollector(i)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean implementsCollector(Class<?> type) {
        if (type.getName().equals(COLLECTOR.replace('/', '.'))) {
            return true;
        }
        for (Class<?> i : type.getInterfaces()) {
            if (implementsCollector(i)) {
                return true;
            }
        }
        return false;
    }

    /** Walks the class headers (read as resources, never loaded) up to {@code GradientCollector}. */
    private boolean implementsCollector(ClassReader reader, ClassLoader loader) {
        for (String i : reader.getInterfaces()) {
            if (isCollector(i, loader)) {
                return true;
            }
        }
        String superName = reader.getSuperName();
        return superName != null && isCollector(superName, loader);
    }

    private boolean isCollector(String name, ClassLoader loader) {
        if (COLLECTOR.equals(name)) {
            return true;
        }
        if (!name.startsWith("ai/djl/")) {
            return false;
        }
        Boolean known = collectors.get(name);
        if (known != null) {
            return known;
        }
        boolean result = false;
        ClassLoader l = loader != null ? loader : ClassLoader.getSystemClassLoader();
        try (InputStream in = l.getResourceAsStream(name + ".class")) {
            if (in != null) {
                result = implementsCollector(new ClassReader(in), loader);
            }
        } catch (IOException e) {
            LOG.debug("cannot read the class file of {}: {}", name, e.toString());
        }
        collectors.put(name, result);
        return result;
    }

    /** Chooses the methods to weave. */
    private static final class Weaving extends ClassVisitor {
        private final String owner;
        private final boolean collector;

        Weaving(ClassVisitor next, String owner, boolean collector) {
            super(Opcodes.ASM9, next);
            this.owner = owner;
            this.collector = collector;
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                String[] exceptions) {
            MethodVisitor mv = super.visitMethod(access, name, descriptor, signature, exceptions);
            if ((access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE | Opcodes.ACC_STATIC | Opcodes.ACC_BRIDGE))
                    != 0 || mv == null) {
                return mv;
            }
            Type[] args = Type.getArgumentTypes(descriptor);
            if (collector) {
                if ("<init>".equals(name)) {
                    return new AtReturn(mv, "collectorEvent", "collector-opened");
                }
                if ("close".equals(name) && args.length == 0) {
                    return new AtStart(mv, "collectorEvent", "collector-closing");
                }
                return "backward".equals(name) && args.length == 1 && args[0].getSort() == Type.OBJECT
                        ? new Backward(mv, args[0]) : mv;
            }
            if (MODULES.contains(owner)) {
                return "forwardInternal".equals(name) && MODULE_FORWARD.equals(descriptor) ? new ModuleForward(mv)
                        : mv;
            }
            switch (owner) {
                case BLOCK:
                    if ("forward".equals(name) && args.length == 4) {
                        return new BlockForward(mv, owner, args, "ModelHooks", "enterForward", 0, "exitForward");
                    }
                    if ("getParameters".equals(name) && args.length == 0) {
                        return new GetParameters(mv);
                    }
                    return mv;
                case STORE:
                    return "getValue".equals(name) && args.length == 3 && args[2] == Type.BOOLEAN_TYPE
                            ? new ReplaceReturned(mv, "ParameterHooks", "substituteValue",
                                    Type.getReturnType(descriptor), 0, Type.getObjectType(owner), args[0], args[1],
                                    args[2]) : mv;
                case TRAINER:
                    if ("<init>".equals(name)) {
                        return new AtReturn(mv, "trainerEvent", "trainer");
                    }
                    if ("initialize".equals(name)) {
                        return new AtReturn(mv, "trainerEvent", "trainer-initialized");
                    }
                    if ("step".equals(name) && args.length == 0) {
                        return new Step(mv);
                    }
                    if ("close".equals(name) && args.length == 0) {
                        return new AtStart(mv, "trainerEventQuietly", "trainer-closing");
                    }
                    return mv;
                case PREDICTOR:
                    if ("batchPredict".equals(name) && args.length == 1 && "java/util/List".equals(
                            args[0].getInternalName())) {
                        return new BlockForward(mv, owner, args, "RequestHooks", "enterBatch", 1, "exitBatch");
                    }
                    return "<init>".equals(name) && args.length == 4 ? new PredictorCreated(mv) : mv;
                case PT_MODEL:
                    return "load".equals(name) && (MODEL_LOAD.equals(descriptor) || STREAM_LOAD.equals(descriptor))
                            ? new ModelLoad(mv, MODEL_LOAD.equals(descriptor)) : mv;
                case PT_MANAGER:
                    return "create".equals(name) && CREATE.equals(descriptor) ? new ReplaceReturned(mv, "ScalarHooks",
                            "owned", Type.getReturnType(descriptor), 1, args[0], args[1]) : mv;
                default:
                    return mv;
            }
        }
    }

    private static boolean isReturn(int opcode) {
        return opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN;
    }

    /** {@code inputs = enterModule(this, store, inputs, training)}; before each return {@code exitModule(...)}. */
    private static final class ModuleForward extends MethodVisitor {
        ModuleForward(MethodVisitor mv) {
            super(Opcodes.ASM9, mv);
        }

        @Override
        public void visitCode() {
            super.visitCode();
            push();
            super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ForwardHooks", "enterModule",
                    "(" + OBJECT + OBJECT + OBJECT + "Z)" + OBJECT, false);
            super.visitTypeInsn(Opcodes.CHECKCAST, "ai/djl/ndarray/NDList");
            super.visitVarInsn(Opcodes.ASTORE, 2);
        }

        private void push() {
            super.visitVarInsn(Opcodes.ALOAD, 0);
            super.visitVarInsn(Opcodes.ALOAD, 1);
            super.visitVarInsn(Opcodes.ALOAD, 2);
            super.visitVarInsn(Opcodes.ILOAD, 3);
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.ARETURN) {
                push();
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ForwardHooks", "exitModule",
                        "(" + OBJECT + OBJECT + OBJECT + OBJECT + "Z)" + OBJECT, false);
                super.visitTypeInsn(Opcodes.CHECKCAST, "ai/djl/ndarray/NDList");
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 6, maxLocals);
        }
    }

    /**
     * {@code enterForward(this)}; {@code exitForward()} before each return and when the body throws. Also
     * {@code Predictor.batchPredict}: {@code RequestHooks.enterBatch(this, inputs)} and {@code exitBatch()}.
     */
    private static final class BlockForward extends MethodVisitor {
        private final Object[] locals;
        private final Label start = new Label();
        private final String hooks;
        private final String enter;
        private final int enterArgs;
        private final String exit;

        BlockForward(MethodVisitor mv, String owner, Type[] args, String hooks, String enter, int enterArgs,
                String exit) {
            super(Opcodes.ASM9, mv);
            this.hooks = HOOKS + hooks;
            this.enter = enter;
            this.enterArgs = enterArgs;
            this.exit = exit;
            java.util.List<Object> list = new java.util.ArrayList<>();
            list.add(owner);
            for (Type t : args) {
                list.add(frameType(t));
                if (t.getSize() == 2) {
                    list.add(Opcodes.TOP);
                }
            }
            this.locals = list.toArray();
        }

        @Override
        public void visitCode() {
            super.visitCode();
            super.visitVarInsn(Opcodes.ALOAD, 0);
            for (int i = 1; i <= enterArgs; i++) {
                super.visitVarInsn(Opcodes.ALOAD, i);
            }
            super.visitMethodInsn(Opcodes.INVOKESTATIC, hooks, enter, "(" + OBJECT.repeat(1 + enterArgs) + ")V",
                    false);
            super.visitLabel(start);
        }

        @Override
        public void visitInsn(int opcode) {
            if (isReturn(opcode)) {
                super.visitMethodInsn(Opcodes.INVOKESTATIC, hooks, exit, "()V", false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            Label end = new Label();
            Label handler = new Label();
            super.visitLabel(end);
            super.visitTryCatchBlock(start, end, handler, "java/lang/Throwable");
            super.visitLabel(handler);
            super.visitFrame(Opcodes.F_NEW, locals.length, locals, 1, new Object[] {"java/lang/Throwable"});
            super.visitMethodInsn(Opcodes.INVOKESTATIC, hooks, exit, "()V", false);
            super.visitInsn(Opcodes.ATHROW);
            super.visitMaxs(Math.max(maxStack, 1 + enterArgs) + 2, maxLocals);
        }
    }

    private static Object frameType(Type t) {
        switch (t.getSort()) {
            case Type.BOOLEAN:
            case Type.BYTE:
            case Type.CHAR:
            case Type.SHORT:
            case Type.INT:
                return Opcodes.INTEGER;
            case Type.FLOAT:
                return Opcodes.FLOAT;
            case Type.LONG:
                return Opcodes.LONG;
            case Type.DOUBLE:
                return Opcodes.DOUBLE;
            default:
                return t.getInternalName();
        }
    }

    /** Before each return: {@code appendAttached(this, list)}, the list staying on the stack. */
    private static final class GetParameters extends MethodVisitor {
        GetParameters(MethodVisitor mv) {
            super(Opcodes.ASM9, mv);
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.ARETURN) {
                super.visitInsn(Opcodes.DUP);
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitInsn(Opcodes.SWAP);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ParameterHooks", "appendAttached",
                        "(" + OBJECT + OBJECT + ")V", false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 3, maxLocals);
        }
    }

    /**
     * Before each return: {@code value = HOOK(value, locals...)}, cast back to the method's return type; the locals
     * are consecutive one-slot local variables (objects or booleans). {@code ParameterStore.getValue}:
     * {@code substituteValue(value, this, parameter, device, training)}; {@code PtNDManager.create}:
     * {@code ScalarHooks.owned(array, data, shape)}.
     */
    private static final class ReplaceReturned extends MethodVisitor {
        private final String hooks;
        private final String method;
        private final String returned;
        private final int first;
        private final Type[] types;
        private final String descriptor;

        /** {@code types[i]} is the type of local variable {@code first + i}, each passed to the hook in order. */
        ReplaceReturned(MethodVisitor mv, String hooks, String method, Type returned, int first, Type... types) {
            super(Opcodes.ASM9, mv);
            this.first = first;
            this.hooks = hooks;
            this.method = method;
            this.returned = returned.getInternalName();
            this.types = types;
            StringBuilder d = new StringBuilder("(" + OBJECT);
            for (Type t : types) {
                d.append(t.getSort() == Type.OBJECT ? OBJECT : t.getDescriptor());
            }
            this.descriptor = d.append(')').append(OBJECT).toString();
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.ARETURN) {
                for (int i = 0; i < types.length; i++) {
                    super.visitVarInsn(types[i].getOpcode(Opcodes.ILOAD), first + i);
                }
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + hooks, method, descriptor, false);
                super.visitTypeInsn(Opcodes.CHECKCAST, returned);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + types.length + 2, maxLocals);
        }
    }

    /** Before each return: {@code ModelHooks.METHOD(this, event)}. */
    private static class AtReturn extends MethodVisitor {
        private final String method;
        private final String event;

        AtReturn(MethodVisitor mv, String method, String event) {
            super(Opcodes.ASM9, mv);
            this.method = method;
            this.event = event;
        }

        void call(String hook, String what) {
            super.visitVarInsn(Opcodes.ALOAD, 0);
            super.visitLdcInsn(what);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ModelHooks", hook,
                    "(" + OBJECT + "Ljava/lang/String;)V", false);
        }

        @Override
        public void visitInsn(int opcode) {
            if (method != null && isReturn(opcode)) {
                call(method, event);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 2, maxLocals);
        }
    }

    /** At the start: {@code ModelHooks.METHOD(this, event)}. */
    private static final class AtStart extends AtReturn {
        private final String hook;
        private final String what;

        AtStart(MethodVisitor mv, String hook, String what) {
            super(mv, null, null);
            this.hook = hook;
            this.what = what;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            call(hook, what);
        }
    }

    /** {@code Trainer.step()}: before ({@code trainer-before-step}) and after ({@code trainer-step}). */
    private static final class Step extends AtReturn {
        Step(MethodVisitor mv) {
            super(mv, "trainerEventQuietly", "trainer-step");
        }

        @Override
        public void visitCode() {
            super.visitCode();
            call("trainerEventQuietly", "trainer-before-step");
        }
    }

    /** After {@code new Predictor(model, translator, device, copy)}: {@code modelInUse(model, "predictor")}. */
    private static final class PredictorCreated extends MethodVisitor {
        PredictorCreated(MethodVisitor mv) {
            super(Opcodes.ASM9, mv);
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.RETURN) {
                super.visitVarInsn(Opcodes.ALOAD, 1);
                super.visitLdcInsn("predictor");
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ModelHooks", "modelInUse",
                        "(" + OBJECT + "Ljava/lang/String;)V", false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 2, maxLocals);
        }
    }

    /** {@code loss = beforeBackward(loss)} at the start of {@code backward(NDArray)}. */
    private static final class Backward extends MethodVisitor {
        private final Type argument;

        Backward(MethodVisitor mv, Type argument) {
            super(Opcodes.ASM9, mv);
            this.argument = argument;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            super.visitVarInsn(Opcodes.ALOAD, 1);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "TrainingHooks", "beforeBackward",
                    "(" + OBJECT + ")" + OBJECT, false);
            super.visitTypeInsn(Opcodes.CHECKCAST, argument.getInternalName());
            super.visitVarInsn(Opcodes.ASTORE, 1);
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.RETURN) {
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "TrainingHooks", "afterBackward",
                        "(" + OBJECT + ")V", false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 2, maxLocals);
        }
    }

    /**
     * {@code PtModel.load(Path, String, Map)}: {@code options = beforeModelLoad(this, options)} at the start; and
     * {@code modelLoaded(this, "loaded")} before each return of it and of {@code load(InputStream, boolean)}.
     */
    private static final class ModelLoad extends AtReturn {
        private final boolean withOptions;

        ModelLoad(MethodVisitor mv, boolean withOptions) {
            super(mv, "modelLoaded", "loaded");
            this.withOptions = withOptions;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            if (withOptions) {
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitVarInsn(Opcodes.ALOAD, 3);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, HOOKS + "ModelHooks", "beforeModelLoad",
                        "(" + OBJECT + OBJECT + ")" + OBJECT, false);
                super.visitTypeInsn(Opcodes.CHECKCAST, "java/util/Map");
                super.visitVarInsn(Opcodes.ASTORE, 3);
            }
        }
    }
}

package io.peft4j.testmodels;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Input;
import ai.djl.modality.Output;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.MBeanServerDelegate;
import javax.management.MBeanServerNotification;
import javax.management.NotificationListener;
import javax.management.ObjectName;

/**
 * A DJL serving-style application ({@code Predictor<Input, Output>}, the shape of DJL model servers) that never
 * references peft4j: each request is one row of a golden case's input as little-endian float32 bytes, with the
 * adapter it wants in the {@code Input} property {@code adapter}. It sends each row alone with {@code predict}
 * (rows naming {@code args[2]}, split on {@code ,}), then all rows in one {@code batchPredict} naming
 * {@code args[3]}, then one request naming an adapter that does not exist, and writes the outputs as tensors
 * {@code single} and {@code batch} (and {@code unknown} when that request succeeded).
 *
 * <pre>
 * java -Dai.djl.offline=true -cp ... io.peft4j.testmodels.ServingApp &lt;caseDir&gt; &lt;outputFile&gt; a,b,c c,none,a
 * </pre>
 */
public final class ServingApp {

    private ServingApp() {}

    /** Reads a request's floats, one row; the batchifier stacks rows into {@code [n, features]}. */
    static final class RowTranslator implements Translator<Input, Output> {
        @Override
        public NDList processInput(TranslatorContext ctx, Input input) {
            ByteBuffer bytes = ByteBuffer.wrap(input.getData().getAsBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] row = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(row);
            return new NDList(ctx.getNDManager().create(row));
        }

        @Override
        public Output processOutput(TranslatorContext ctx, NDList list) {
            float[] row = list.singletonOrThrow().toFloatArray();
            ByteBuffer bytes = ByteBuffer.allocate(row.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(row);
            Output out = new Output();
            out.add(bytes.array());
            return out;
        }

        @Override
        public Batchifier getBatchifier() {
            return Batchifier.STACK;
        }
    }

    /** Runs the requests; exit status 1 on a usage or I/O error. */
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ServingApp <caseDir> <outputFile> <adapters per row, for predict> "
                    + "<adapters per row, for batchPredict>");
            System.exit(1);
        }
        Path caseDir = Path.of(args[0]);
        List<String> single = Arrays.asList(args[2].split(","));
        List<String> batch = Arrays.asList(args[3].split(","));
        Block block = GoldenModels.build(GoldenApp.readModelName(caseDir), caseDir);
        try (Model model = Model.newInstance("serving")) {
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            TorchWeights.load(block, caseDir.resolve("base_model.safetensors"), manager);
            float[][] rows = rows(TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), manager)
                    .get("input"));
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            try (Predictor<Input, Output> predictor = model.newPredictor(new RowTranslator())) {
                List<float[]> outs = new ArrayList<>();
                for (int i = 0; i < rows.length; i++) {
                    outs.add(floats(predictor.predict(request(rows[i], single.get(i)))));
                }
                tensors.put("single", stack(manager, outs));
                List<Input> requests = new ArrayList<>();
                for (int i = 0; i < rows.length; i++) {
                    requests.add(request(rows[i], batch.get(i)));
                }
                List<float[]> batched = new ArrayList<>();
                for (Output o : predictor.batchPredict(requests)) {
                    batched.add(floats(o));
                }
                tensors.put("batch", stack(manager, batched));
                try {
                    float[] unknown = floats(predictor.predict(request(rows[0], "no-such-tenant")));
                    tensors.put("unknown", stack(manager, List.of(unknown)));
                    System.out.println("ServingApp: unknown adapter served");
                } catch (TranslateException | RuntimeException e) {
                    Throwable root = e;
                    while (root.getCause() != null) {
                        root = root.getCause();
                    }
                    System.out.println("ServingApp: unknown adapter refused: " + root.getMessage());
                }
            }
            SafetensorsWriter.write(Path.of(args[1]), tensors);
            printRequestCounts();
        }
    }

    /**
     * The peft4j MXBean's request counts when one is registered (found by name only, as jconsole would). Launched with
     * the agent, first waits for it: the agent registers it on a thread of its own after the first forward pass.
     */
    private static void printRequestCounts() throws Exception {
        ObjectName name = new ObjectName("io.peft4j:type=Adapters");
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        boolean agent = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(a -> a.startsWith("-javaagent:") && a.contains("peft4j-agent") && !a.contains("jmx=false"));
        if (agent) {
            CountDownLatch registered = new CountDownLatch(1);
            NotificationListener listener = (n, handback) -> {
                if (n instanceof MBeanServerNotification && name.equals(((MBeanServerNotification) n).getMBeanName())
                        && MBeanServerNotification.REGISTRATION_NOTIFICATION.equals(n.getType())) {
                    registered.countDown();
                }
            };
            server.addNotificationListener(MBeanServerDelegate.DELEGATE_NAME, listener, null, null);
            try {
                if (!server.isRegistered(name)) {
                    registered.await(60, TimeUnit.SECONDS);
                }
            } finally {
                server.removeNotificationListener(MBeanServerDelegate.DELEGATE_NAME, listener);
            }
        }
        if (server.isRegistered(name)) {
            Object counts = server.getAttribute(name, "RequestsPerAdapter");
            Object unknown = server.getAttribute(name, "UnknownAdapterRequests");
            System.out.println("ServingApp: RequestsPerAdapter=" + Arrays.toString((String[]) counts)
                    + " UnknownAdapterRequests=" + unknown);
        }
    }

    private static Input request(float[] row, String adapter) {
        ByteBuffer bytes = ByteBuffer.allocate(row.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(row);
        Input input = new Input();
        input.add(bytes.array());
        if (!adapter.equals("-")) {
            input.addProperty("adapter", adapter);
        }
        return input;
    }

    private static float[][] rows(NDArray input) {
        int n = (int) input.getShape().get(0);
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = input.get(i).toType(DataType.FLOAT32, false).toFloatArray();
        }
        return out;
    }

    private static float[] floats(Output output) {
        ByteBuffer bytes = ByteBuffer.wrap(output.getData().getAsBytes()).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(out);
        return out;
    }

    private static NDArray stack(NDManager manager, List<float[]> rows) {
        float[] all = new float[rows.size() * rows.get(0).length];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, all, i * rows.get(0).length, rows.get(0).length);
        }
        return manager.create(all, new ai.djl.ndarray.types.Shape(rows.size(), rows.get(0).length));
    }
}

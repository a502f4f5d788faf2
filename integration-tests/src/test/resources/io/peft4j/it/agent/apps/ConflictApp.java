package io.peft4j.it.agent.apps;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.translate.NoopTranslator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.testmodels.GoldenModels;
import io.peft4j.testmodels.TorchWeights;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.implementation.FixedValue;
import net.bytebuddy.matcher.ElementMatchers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * An application that ships its own Byte Buddy, Jackson and SLF4J (other versions than the agent's) and uses them
 * before and after running a golden MLP case through a Predictor: it defines a class with its Byte Buddy, parses JSON
 * with its Jackson and logs through its SLF4J. Prints where each library came from, then {@code OUT t=1 n=1 ...}.
 *
 * <pre>ConflictApp &lt;caseDir&gt;</pre>
 */
public final class ConflictApp {

    private static final Logger LOG = LoggerFactory.getLogger(ConflictApp.class);

    private ConflictApp() {}

    public static void main(String[] args) throws Exception {
        Path caseDir = Path.of(args[0]);
        useLibraries("before");
        Block block = GoldenModels.build("MLP");
        try (Model model = Model.newInstance("conflict")) {
            model.setBlock(block);
            TorchWeights.load(block, caseDir.resolve("base_model.safetensors"), model.getNDManager());
            NDArray input = TorchWeights.readSafetensors(caseDir.resolve("input.safetensors"), model.getNDManager())
                    .get("input");
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
                float[] values = predictor.predict(new NDList(input)).singletonOrThrow().toFloatArray();
                StringBuilder sb = new StringBuilder();
                for (float v : values) {
                    sb.append(sb.length() == 0 ? "" : ",").append(v);
                }
                System.out.println("OUT t=1 n=1 " + sb);
            }
        }
        useLibraries("after");
        System.out.println("DONE");
    }

    private static void useLibraries(String when) throws Exception {
        Class<?> made = new ByteBuddy().subclass(Object.class).name("io.peft4j.it.agent.apps.Made" + when)
                .method(ElementMatchers.named("toString")).intercept(FixedValue.value("made-by-app-byte-buddy"))
                .make().load(ConflictApp.class.getClassLoader()).getLoaded();
        System.out.println("BYTEBUDDY " + when + " " + made.getDeclaredConstructor().newInstance() + " from "
                + ByteBuddy.class.getProtectionDomain().getCodeSource().getLocation());
        JsonNode json = new ObjectMapper().readTree("{\"adapters\": [\"a\", \"b\", \"c\"]}");
        System.out.println("JACKSON " + when + " size=" + json.get("adapters").size() + " version="
                + com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION + " from "
                + ObjectMapper.class.getProtectionDomain().getCodeSource().getLocation());
        LOG.info("SLF4J {} app logging works", when);
        System.out.println("SLF4J " + when + " " + LoggerFactory.getILoggerFactory().getClass().getName() + " from "
                + LoggerFactory.class.getProtectionDomain().getCodeSource().getLocation());
    }
}

package io.peft4j.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.log.PeftLog;
import io.peft4j.lora.LoraConfig;
import io.peft4j.match.TargetsNotFoundException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Automatic injection uses the configs read at start-up, and tells "not this model" from a broken config by type. */
class AutoInjectorTest {

    @TempDir
    Path dir;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** {@code 0}: ReLU, {@code 1}: Linear(4). */
    private Block model(boolean withTarget) {
        SequentialBlock block = new SequentialBlock();
        if (withTarget) {
            block.add(Activation.reluBlock());
        }
        block.add(Linear.builder().setUnits(4).build());
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 3));
        return block;
    }

    private AutoInjector injector() throws Exception {
        AdapterConfigs.write(LoraConfig.builder().r(2).loraAlpha(4).targetModules(List.of("1")).build(), dir);
        StartupAdapter adapter = new StartupAdapter("default", dir, AdapterConfigs.read(dir));
        // The file changes (here: breaks) after start-up; models still get the config read then.
        Files.writeString(dir.resolve(AdapterConfigs.CONFIG_NAME), "{ broken", StandardCharsets.UTF_8);
        return new AutoInjector(List.of(adapter), new InjectionGate(), null, false, null, true, new KnownModels(),
                null);
    }

    @Test
    void injectsTheConfigReadAtStartUpNotTheFileAsItIsNow() throws Exception {
        AutoInjector injector = injector();
        Block model = model(true);
        injector.rootInUse(model, "predictor");
        assertEquals(List.of("default"), Peft.adapters(model).orElseThrow().adapterNames());
        assertEquals(2, ((LoraConfig) Peft.adapters(model).orElseThrow().config("default")).r());
        assertEquals(List.of("1"), List.copyOf(Peft.tunedModules(model).keySet()));
    }

    @Test
    void aBlockWithoutTheTargetsIsLeftAloneOnlyWhenFoundByItsForwardPass() throws Exception {
        AutoInjector injector = injector();
        Block alone = model(false);
        injector.rootInUse(alone, "forward");
        assertFalse(Peft.adapters(alone).isPresent() && !Peft.adapters(alone).get().adapterNames().isEmpty());

        Block served = model(false);
        InjectionFailure failure = assertThrows(InjectionFailure.class, () -> injector.rootInUse(served, "predictor"));
        assertTrue(failure.getCause() instanceof TargetsNotFoundException, String.valueOf(failure.getCause()));
        // printed once, in the ERROR line; the exception prints as one short line pointing to it
        assertTrue(failure.getMessage().contains("Target modules {'1'} not found in the base model."),
                failure.getMessage());
        StringWriter printed = new StringWriter();
        failure.printStackTrace(new PrintWriter(printed));
        assertEquals("io.peft4j.instrument.InjectionFailure: adapter 'default' was not injected into model"
                + " SequentialBlock#2 (the [peft4j] ERROR line above says why; debug=true prints the stack trace)"
                + System.lineSeparator(), printed.toString());
        InjectionFailure again = assertThrows(InjectionFailure.class, () -> injector.rootInUse(served, "forward"));
        assertEquals(failure.toString(), again.toString());
    }

    @Test
    void atDebugTheModuleTreeOfEachModelIsLogged() throws Exception {
        AutoInjector injector = injector();
        Block model = model(true);
        List<String> lines = new ArrayList<>();
        System.setProperty("peft4j.debug", "true");
        PeftLog.captureForTests(lines::add);
        try {
            injector.rootInUse(model, "predictor");
        } finally {
            PeftLog.captureForTests(null);
            System.clearProperty("peft4j.debug");
        }
        assertEquals("DEBUG model SequentialBlock#1 (ai.djl.nn.SequentialBlock): module tree (the paths"
                + " target_modules is matched against)\n(root)  SequentialBlock\n  0  LambdaBlock\n"
                + "  1  Linear  weight [4, 3], bias [4]\n3 modules (2 leaves)", lines.get(0));
    }
}

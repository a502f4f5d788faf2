package io.peft4j.state;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.peft4j.Peft;
import io.peft4j.lora.LoraConfig;
import io.peft4j.testmodels.Mlp;
import io.peft4j.tuner.TunedModule;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The writing JVM of {@link AtomicSaveKillTest}: saves a LoRA adapter with fixed values to {@code DIR/a} and its
 * negation to {@code DIR/b}, saves one of them to {@code DIR/target}, prints {@code READY}, then saves the two states
 * alternately to {@code DIR/target} until it is killed.
 */
public final class SaveLoopMain {

    private SaveLoopMain() {}

    /** {@code args[0]}: the directory. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        try (Model model = Model.newInstance("save-loop"); NDManager manager = NDManager.newBaseManager()) {
            Mlp mlp = new Mlp();
            model.setBlock(mlp);
            mlp.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(3, 16));
            Peft.injectAdapter(LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("fc1", "fc2")).build(),
                    mlp);
            List<NDArray> arrays = new ArrayList<>();
            for (TunedModule module : Peft.tunedModules(mlp).values()) {
                for (Parameter p : module.adapter("default").parameters().values()) {
                    NDArray a = p.getArray();
                    long n = a.getShape().size();
                    a.muli(0).addi(manager.arange(0f, n, 1f).reshape(a.getShape()).mul(1e-3f).add(0.5f));
                    arrays.add(a);
                }
            }
            Peft.saveAdapter(mlp, dir.resolve("a"));
            arrays.forEach(NDArray::negi);
            Peft.saveAdapter(mlp, dir.resolve("b"));
            Path target = dir.resolve("target");
            arrays.forEach(NDArray::negi);
            Peft.saveAdapter(mlp, target); // one complete save first: every kill then finds a target to check
            System.out.println("READY");
            System.out.flush();
            while (true) {
                arrays.forEach(NDArray::negi);
                Peft.saveAdapter(mlp, target);
            }
        }
    }
}

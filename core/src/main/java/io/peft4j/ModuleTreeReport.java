package io.peft4j;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.model.ModuleListing;
import io.peft4j.traced.TorchScriptMerge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The entry point of {@code java -jar peft4j-agent.jar tree}: the {@linkplain Peft#moduleTree(Block) module tree} of a
 * model built offline, optionally matched against an adapter config. Called reflectively by the agent's command
 * line, in a class loader that sees DJL (as {@link TorchScriptMerge#mergeFiles} is).
 */
public final class ModuleTreeReport {

    private ModuleTreeReport() {}

    /**
     * The printed tree of a model.
     *
     * @param model a TorchScript file, or the class name of a DJL {@link Block} with a public no-argument constructor
     * @param configDir an adapter directory (or {@code adapter_config.json}) whose config marks the targeted modules,
     *     or {@code null}
     * @param inputShapes for a block class: the input shapes its {@code initialize} needs to give its parameters
     *     shapes ({@code 1x16}, several joined with {@code ,}), or {@code null} to list the modules without shapes
     * @return the listing ({@link ModuleListing#describe()}) under a header line naming the model
     * @throws IOException when the file cannot be loaded
     * @throws ReflectiveOperationException when the class cannot be made
     */
    public static String describe(String model, String configDir, String inputShapes)
            throws IOException, ReflectiveOperationException {
        AdapterConfig config = configDir == null ? null : AdapterConfigs.read(Path.of(configDir));
        String header = "module tree of " + model + (config == null ? "" : " with the config of " + configDir);
        Path file = Path.of(model);
        if (Files.isRegularFile(file)) {
            try (Model loaded = TorchScriptMerge.loadModel(file)) {
                return header + "\n" + listing(loaded.getBlock(), config).describe();
            }
        }
        if (!model.matches("[\\p{javaJavaIdentifierStart}][\\p{javaJavaIdentifierPart}.$]*")) {
            throw new IllegalArgumentException("--model " + model + " is neither a file nor a class name");
        }
        Class<?> type = Class.forName(model, true, Thread.currentThread().getContextClassLoader());
        if (!Block.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("class " + model + " is not a DJL Block");
        }
        Block block;
        try {
            block = (Block) type.getConstructor().newInstance();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("class " + model + " has no public no-argument constructor; print its"
                    + " tree where the application builds it: Peft.moduleTree(block), the agent with debug=true, or"
                    + " java -jar peft4j-agent.jar jmx <pid> tree");
        }
        if (inputShapes == null) {
            return header + "\n" + listing(block, config).describe();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            block.initialize(manager, DataType.FLOAT32, shapes(inputShapes));
            return header + "\n" + listing(block, config).describe();
        }
    }

    private static ModuleListing listing(Block block, AdapterConfig config) {
        return config == null ? Peft.moduleTree(block) : Peft.moduleTree(block, config);
    }

    /** {@code 1x16,1x8} to shapes. */
    static Shape[] shapes(String text) {
        List<Shape> out = new ArrayList<>();
        for (String one : text.split(",")) {
            String[] dims = one.trim().split("x");
            long[] d = new long[dims.length];
            try {
                for (int i = 0; i < dims.length; i++) {
                    d[i] = Long.parseLong(dims[i].trim());
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--input " + text + ": expected shapes such as 1x16 (several"
                        + " joined with ,)");
            }
            out.add(new Shape(d));
        }
        return out.toArray(new Shape[0]);
    }
}

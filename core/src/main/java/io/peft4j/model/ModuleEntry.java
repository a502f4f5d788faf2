package io.peft4j.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One module of a model as {@code Peft.moduleTree} lists it: its PEFT-style path, its block class, its own parameters
 * under PyTorch's names with their shapes, and, when the listing was made for a config or for a model with adapters,
 * whether the module is targeted and by which rule.
 *
 * @param path the dotted path ({@code ""} for the root), the key {@code target_modules} is matched against
 * @param blockClass the simple class name of the DJL block ({@code Linear}); for a traced model's modules, which
 *     have no block of their own, the kind their parameters suggest ({@code module})
 * @param parameters the module's own parameters by PyTorch name ({@code weight}, {@code bias}) to their shapes;
 *     an empty shape when the parameter is not initialised yet
 * @param leaf whether the module has no submodules
 * @param target {@code null} when no config was given; otherwise {@code ""} when the module is not targeted, or
 *     what targets (or excludes) it, e.g. {@code targeted: target_modules 'fc1'}
 */
public record ModuleEntry(String path, String blockClass, Map<String, List<Long>> parameters, boolean leaf,
        String target) {

    /** Whether the config (or the model's adapters) targets this module. */
    public boolean targeted() {
        return target != null && target.startsWith("targeted");
    }

    /** {@code weight [32, 16], bias [32]}; {@code ""} without parameters. */
    public String describeParameters() {
        List<String> parts = new ArrayList<>();
        parameters.forEach((name, shape) -> parts.add(name + " " + (shape.isEmpty() ? "(not initialised)"
                : shape.toString())));
        return String.join(", ", parts);
    }

    /** This entry with {@code target} set. */
    public ModuleEntry withTarget(String target) {
        return new ModuleEntry(path, blockClass, parameters, leaf, target);
    }
}

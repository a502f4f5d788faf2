package io.peft4j.traced;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import io.peft4j.model.ModuleEntry;
import io.peft4j.model.ModuleListing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The module tree of a traced model, rebuilt from its parameter names:
 * {@code encoder.layer.0.attention.self.query.weight}
 * belongs to module {@code encoder.layer.0.attention.self.query}, whose ancestors ({@code encoder},
 * {@code encoder.layer}, ...) are containers. Paths are listed in the order of the parameters, which is PyTorch's
 * {@code named_modules()} order for the modules that own parameters.
 */
public final class TracedStructure {

    private final Map<String, Parameter> parameters;
    private final Map<String, TracedModule> modules;
    private final List<String> paths;

    private TracedStructure(Map<String, Parameter> parameters, Map<String, TracedModule> modules, List<String> paths) {
        this.parameters = Collections.unmodifiableMap(parameters);
        this.modules = Collections.unmodifiableMap(modules);
        this.paths = Collections.unmodifiableList(paths);
    }

    /** The structure of {@code root}'s own parameters (a {@code PtSymbolBlock} holds all of them directly). */
    public static TracedStructure of(Block root) {
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : root.getDirectParameters()) {
            parameters.put(p.getKey(), p.getValue());
        }
        Map<String, Map<String, Parameter>> byModule = new LinkedHashMap<>();
        Set<String> paths = new LinkedHashSet<>();
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            String name = e.getKey();
            int dot = name.lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            String path = name.substring(0, dot);
            for (int i = path.indexOf('.'); i > 0; i = path.indexOf('.', i + 1)) {
                paths.add(path.substring(0, i));
            }
            paths.add(path);
            byModule.computeIfAbsent(path, k -> new LinkedHashMap<>()).put(name.substring(dot + 1), e.getValue());
        }
        Map<String, TracedModule> modules = new LinkedHashMap<>();
        byModule.forEach((path, params) -> modules.put(path, new TracedModule(path, params)));
        return new TracedStructure(parameters, modules, new ArrayList<>(paths));
    }

    /**
     * The modules as {@code Peft.moduleTree} lists them: the root ({@code rootClass}) with its own parameters, then
     * every path in order, the modules that own parameters with their shapes (block class {@code module}: a traced
     * model keeps no class per module) and their containers ({@code container}).
     */
    public ModuleListing listing(String rootClass) {
        List<ModuleEntry> entries = new ArrayList<>();
        Map<String, List<Long>> own = new LinkedHashMap<>();
        parameters.forEach((name, parameter) -> {
            if (name.indexOf('.') <= 0) {
                own.put(name, shapeOf(parameter));
            }
        });
        entries.add(new ModuleEntry("", rootClass, own, paths.isEmpty(), null));
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            TracedModule module = modules.get(path);
            Map<String, List<Long>> shapes = new LinkedHashMap<>();
            if (module != null) {
                module.parameters().forEach((name, parameter) -> shapes.put(name, shapeOf(parameter)));
            }
            boolean leaf = i + 1 == paths.size() || !paths.get(i + 1).startsWith(path + ".");
            entries.add(new ModuleEntry(path, module == null ? "container" : "module", shapes, leaf, null));
        }
        return new ModuleListing(entries);
    }

    private static List<Long> shapeOf(Parameter parameter) {
        List<Long> shape = new ArrayList<>();
        if (parameter.isInitialized()) {
            for (long d : parameter.getArray().getShape().getShape()) {
                shape.add(d);
            }
        }
        return List.copyOf(shape);
    }

    /** Every parameter by its PyTorch name. */
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /** The modules that own parameters, by path. */
    public Map<String, TracedModule> modules() {
        return modules;
    }

    /** Every module path (modules that own parameters and their containers), the root excluded. */
    public List<String> paths() {
        return paths;
    }

    /** The names of the parameters in the subtree of module {@code path}. */
    public List<String> parametersUnder(String path) {
        List<String> out = new ArrayList<>();
        for (String name : parameters.keySet()) {
            if (name.startsWith(path + ".")) {
                out.add(name);
            }
        }
        return out;
    }
}

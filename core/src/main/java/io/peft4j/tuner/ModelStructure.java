package io.peft4j.tuner;

import ai.djl.nn.Block;
import io.peft4j.model.ModuleNode;
import io.peft4j.model.ModuleTree;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Where one model's adapters sit, as of its last structural change (an adapter injected or deleted): its module tree,
 * the tuned modules and the {@code modules_to_save} modules, and which modules lie inside the latter. Made once per
 * change and immutable, so that readers (state dicts, trainability) do not walk the block tree again.
 */
public final class ModelStructure {

    private final ModuleTree tree;
    private final Map<String, TunedModule> tuned;
    private final Map<String, SavedModule> saved;
    private final Map<Block, SavedModule> savedByBlock = new IdentityHashMap<>();
    private final Set<ModuleNode> insideSaved = Collections.newSetFromMap(new IdentityHashMap<>());

    /** The structure of the model with modules {@code tree}, tuned and saved modules by path. */
    ModelStructure(ModuleTree tree, Map<String, TunedModule> tuned, Map<String, SavedModule> saved) {
        this.tree = tree;
        this.tuned = Collections.unmodifiableMap(new LinkedHashMap<>(tuned));
        this.saved = Collections.unmodifiableMap(new LinkedHashMap<>(saved));
        saved.values().forEach(s -> savedByBlock.put(s.block(), s));
        for (ModuleNode node : tree.nodes()) {
            for (ModuleNode n = node; n != null; n = n.parent()) {
                if (savedByBlock.containsKey(n.block())) {
                    insideSaved.add(node);
                    break;
                }
            }
        }
    }

    /** The model's modules. */
    public ModuleTree tree() {
        return tree;
    }

    /** The modules that carry adapters, by path, in injection order. */
    public Map<String, TunedModule> tuned() {
        return tuned;
    }

    /** The {@code modules_to_save} modules, by path. */
    public Map<String, SavedModule> saved() {
        return saved;
    }

    /** The {@code modules_to_save} module that wraps {@code block} itself, or {@code null}. */
    public SavedModule savedModuleOf(Block block) {
        return savedByBlock.get(block);
    }

    /**
     * The name PEFT's injected model gives base parameter {@code torchName} of {@code node}: under
     * {@code base_layer} when the module carries adapters ({@code fc1.base_layer.weight}), else unchanged.
     */
    public String baseParameterName(ModuleNode node, String torchName) {
        return node.child(tuned.containsKey(node.path()) ? "base_layer." + torchName : torchName);
    }

    /** Whether {@code node} is a {@code modules_to_save} module or lies inside one. */
    public boolean insideSavedModule(ModuleNode node) {
        return insideSaved.contains(node);
    }
}

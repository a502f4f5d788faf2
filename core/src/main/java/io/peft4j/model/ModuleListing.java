package io.peft4j.model;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Every module path of a model with its block class and parameter shapes, in {@code named_modules()} order: what one
 * needs to write {@code target_modules}. Made by {@code Peft.moduleTree(model)} (DJL block trees and traced models),
 * printed by {@code java -jar peft4j-agent.jar tree}, the JMX operation {@code tree} and, at {@code debug=true}, the
 * agent's log.
 *
 * <pre>
 * (root)  Mlp
 *   fc1  Linear  weight [32, 16], bias [32]  &lt;- targeted: target_modules 'fc1'
 *   relu1  LambdaBlock
 * </pre>
 */
public final class ModuleListing {

    private final List<ModuleEntry> entries;

    /** A listing of {@code entries}, root first. */
    public ModuleListing(List<ModuleEntry> entries) {
        this.entries = Collections.unmodifiableList(new ArrayList<>(entries));
    }

    /** The modules of a DJL block tree, under the paths {@link ModuleTree} gives them. */
    public static ModuleListing of(Block root) {
        List<ModuleEntry> out = new ArrayList<>();
        for (ModuleNode node : ModuleTree.of(root).nodes()) {
            Block block = node.block();
            Map<String, List<Long>> parameters = new LinkedHashMap<>();
            for (Pair<String, Parameter> p : block.getDirectParameters()) {
                Parameter parameter = p.getValue();
                List<Long> shape = new ArrayList<>();
                if (parameter.isInitialized()) {
                    for (long d : parameter.getArray().getShape().getShape()) {
                        shape.add(d);
                    }
                }
                parameters.put(TorchParameterNames.torchName(block, p.getKey()), List.copyOf(shape));
            }
            out.add(new ModuleEntry(node.path(), block.getClass().getSimpleName(), parameters,
                    block.getChildren().isEmpty(), null));
        }
        return new ModuleListing(out);
    }

    /** Every module, root first. */
    public List<ModuleEntry> entries() {
        return entries;
    }

    /** The module at {@code path}, if any. */
    public Optional<ModuleEntry> find(String path) {
        return entries.stream().filter(e -> e.path().equals(path)).findFirst();
    }

    /** The paths of the modules without submodules, in order (the usual targets). */
    public List<String> leafPaths() {
        List<String> out = new ArrayList<>();
        for (ModuleEntry e : entries) {
            if (e.leaf() && !e.path().isEmpty()) {
                out.add(e.path());
            }
        }
        return out;
    }

    /** The paths of the targeted modules, in order. */
    public List<String> targetedPaths() {
        List<String> out = new ArrayList<>();
        for (ModuleEntry e : entries) {
            if (e.targeted()) {
                out.add(e.path());
            }
        }
        return out;
    }

    /** This listing with each module's {@link ModuleEntry#target()} set by {@code targetOf} (root skipped). */
    public ModuleListing withTargets(Function<String, String> targetOf) {
        List<ModuleEntry> out = new ArrayList<>();
        for (ModuleEntry e : entries) {
            out.add(e.path().isEmpty() ? e : e.withTarget(targetOf.apply(e.path())));
        }
        return new ModuleListing(out);
    }

    /**
     * One line per module, indented by depth: path, block class, parameter shapes and, when known, what targets it
     * ({@code <- targeted: ...}); a last line counts the modules (and the targeted ones).
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        int targeted = 0;
        boolean withTargets = false;
        for (ModuleEntry e : entries) {
            int depth = e.path().isEmpty() ? 0 : e.path().split("\\.").length;
            sb.append("  ".repeat(depth)).append(e.path().isEmpty() ? "(root)" : e.path()).append("  ")
                    .append(e.blockClass());
            String parameters = e.describeParameters();
            if (!parameters.isEmpty()) {
                sb.append("  ").append(parameters);
            }
            if (e.target() != null) {
                withTargets = true;
                if (!e.target().isEmpty()) {
                    sb.append("  <- ").append(e.target());
                }
                targeted += e.targeted() ? 1 : 0;
            }
            sb.append('\n');
        }
        sb.append(entries.size()).append(" modules (").append(leafPaths().size()).append(" leaves)");
        if (withTargets) {
            sb.append(", ").append(targeted).append(" targeted");
        }
        return sb.append('\n').toString();
    }
}

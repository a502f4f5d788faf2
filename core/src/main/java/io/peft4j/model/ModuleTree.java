package io.peft4j.model;

import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.util.Pair;
import io.peft4j.log.PeftLog;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The modules of a DJL block tree under the names PyTorch would give the same model, so that PEFT configs and adapter
 * files written for the PyTorch twin apply unchanged.
 *
 * <p>Rules: a child added with {@code addChildBlock(name, block)} is named {@code name} (DJL stores it as
 * {@code "%02d" + name}; the ordinal prefix is dropped); children of {@link SequentialBlock} and {@link ParallelBlock}
 * are named {@code 0, 1, ...} like {@code nn.Sequential}. Where dropping the prefix would give two siblings the same
 * name, those siblings keep DJL's full key (e.g. {@code 01linear}, {@code 02linear}) and a warning says so. A block
 * reachable twice is listed once, under its first path, as {@code named_modules()} does.
 */
public final class ModuleTree {

    private static final PeftLog LOG = PeftLog.get(ModuleTree.class);

    private final List<ModuleNode> nodes;
    private final Map<String, ModuleNode> byPath;
    private final Map<Block, ModuleNode> byBlock;

    private ModuleTree(List<ModuleNode> nodes) {
        this.nodes = Collections.unmodifiableList(nodes);
        this.byPath = new LinkedHashMap<>();
        this.byBlock = new IdentityHashMap<>();
        for (ModuleNode node : nodes) {
            byPath.put(node.path(), node);
            byBlock.put(node.block(), node);
        }
    }

    /**
     * Walks {@code root} depth-first (pre-order, the order of {@code named_modules()}); paths are renamed by the
     * root's {@link NameMap}, when it has one.
     */
    public static ModuleTree of(Block root) {
        List<ModuleNode> nodes = new ArrayList<>();
        Map<Block, Boolean> seen = new IdentityHashMap<>();
        visit(new ModuleNode("", root, null), nodes, seen);
        NameMap map = NameMap.forRoot(root);
        return new ModuleTree(map == null ? nodes : renamed(nodes, map));
    }

    private static List<ModuleNode> renamed(List<ModuleNode> nodes, NameMap map) {
        Map<ModuleNode, ModuleNode> renamed = new IdentityHashMap<>();
        Map<String, String> taken = new HashMap<>();
        List<ModuleNode> out = new ArrayList<>();
        for (ModuleNode node : nodes) {
            String name = node.path().isEmpty() ? "" : map.map(node.path());
            String previous = taken.putIfAbsent(name, node.path());
            if (previous != null) {
                throw new IllegalArgumentException(map.source() + " gives modules '" + previous + "' and '"
                        + node.path() + "' the same name '" + name + "'");
            }
            ModuleNode copy = new ModuleNode(name, node.block(), node.parent() == null ? null
                    : renamed.get(node.parent()));
            renamed.put(node, copy);
            out.add(copy);
        }
        return out;
    }

    private static void visit(ModuleNode node, List<ModuleNode> out, Map<Block, Boolean> seen) {
        if (seen.put(node.block(), Boolean.TRUE) != null) {
            return;
        }
        out.add(node);
        List<String> names = childNames(node);
        ai.djl.nn.BlockList children = node.block().getChildren();
        for (int i = 0; i < children.size(); i++) {
            visit(new ModuleNode(node.child(names.get(i)), children.get(i).getValue(), node), out, seen);
        }
    }

    /** The torch-style names of {@code node}'s children, in DJL's order. */
    static List<String> childNames(ModuleNode node) {
        Block block = node.block();
        ai.djl.nn.BlockList children = block.getChildren();
        List<String> names = new ArrayList<>(children.size());
        boolean indexed = block instanceof SequentialBlock || block instanceof ParallelBlock;
        for (int i = 0; i < children.size(); i++) {
            names.add(indexed ? Integer.toString(i) : stripOrdinal(children.get(i).getKey(), i + 1));
        }
        if (!indexed) {
            Map<String, Integer> counts = new HashMap<>();
            names.forEach(n -> counts.merge(n, 1, Integer::sum));
            for (int i = 0; i < names.size(); i++) {
                if (counts.get(names.get(i)) > 1) {
                    String raw = children.get(i).getKey();
                    LOG.warn("children of '{}' ({}) share the name '{}'; keeping DJL's key '{}' for this one",
                            node.path(), block.getClass().getSimpleName(), names.get(i), raw);
                    names.set(i, raw);
                }
            }
        }
        return names;
    }

    /** Removes DJL's {@code "%02d"} ordinal from a child key, when it is there. */
    static String stripOrdinal(String key, int ordinal) {
        String prefix = String.format(Locale.ROOT, "%02d", ordinal);
        if (key.startsWith(prefix) && key.length() > prefix.length()) {
            return key.substring(prefix.length());
        }
        return key;
    }

    /** Every module, root first, in {@code named_modules()} order. */
    public List<ModuleNode> nodes() {
        return nodes;
    }

    /** The root node (path {@code ""}). */
    public ModuleNode root() {
        return nodes.get(0);
    }

    /** The module at {@code path}, if any. */
    public Optional<ModuleNode> find(String path) {
        return Optional.ofNullable(byPath.get(path));
    }

    /** The node of {@code block}, if it is in this tree. */
    public Optional<ModuleNode> nodeOf(Block block) {
        return Optional.ofNullable(byBlock.get(block));
    }

    /** Whether {@code ancestor} is {@code node} or one of its ancestors. */
    public static boolean isWithin(ModuleNode node, ModuleNode ancestor) {
        for (ModuleNode n = node; n != null; n = n.parent()) {
            if (n == ancestor) {
                return true;
            }
        }
        return false;
    }

    /** A printable tree: one line per module with its path and block class, for logs and the README. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (ModuleNode node : nodes) {
            int depth = node.path().isEmpty() ? 0 : node.path().split("\\.").length;
            sb.append("  ".repeat(depth))
                    .append(node.path().isEmpty() ? "(root)" : node.name())
                    .append(": ")
                    .append(node.block().getClass().getSimpleName())
                    .append('\n');
        }
        return sb.toString();
    }
}

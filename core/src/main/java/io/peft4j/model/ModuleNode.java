package io.peft4j.model;

import ai.djl.nn.Block;

/**
 * One module of a block tree under its PEFT-style dotted path, as torch's {@code named_modules()} would list it.
 *
 * @param path the dotted path from the root ({@code ""} for the root itself), e.g. {@code encoder.0.fc1}
 * @param block the DJL block
 * @param parent the parent node, {@code null} for the root
 */
public record ModuleNode(String path, Block block, ModuleNode parent) {

    /** The last path segment (the attribute name), {@code ""} for the root. */
    public String name() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }

    /** Returns {@code prefix + "." + suffix} or just {@code suffix} at the root. */
    public String child(String suffix) {
        return path.isEmpty() ? suffix : path + "." + suffix;
    }
}

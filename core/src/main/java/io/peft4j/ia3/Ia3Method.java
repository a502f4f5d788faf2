package io.peft4j.ia3;

import ai.djl.nn.Block;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftType;
import io.peft4j.layer.ModuleAdapter;

import java.util.Map;

/**
 * IA3 as a {@link PeftMethod}: {@link IA3Config}, the {@link Ia3Adapter} vectors, the {@code ia3_} names (PEFT's
 * default state-dict selection) and no base parameter trained.
 */
public final class Ia3Method implements PeftMethod {

    @Override
    public PeftType peftType() {
        return PeftType.IA3;
    }

    @Override
    public ConfigSchema configSchema() {
        return IA3Config.SCHEMA;
    }

    @Override
    public AdapterConfig parseConfig(String source, Map<String, Object> json) {
        return new IA3Config(source, json);
    }

    @Override
    public boolean supports(Block block) {
        return Ia3Modules.supports(block);
    }

    @Override
    public String supportedBlocks() {
        return Ia3Modules.SUPPORTED;
    }

    @Override
    public ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block) {
        return Ia3Modules.create((IA3Config) config, name, path, block, null);
    }

    /** A module's second IA3 adapter keeps the layer's {@code is_feedforward}, fixed by its first (PEFT). */
    @Override
    public ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block,
            Map<String, ModuleAdapter> existing) {
        for (ModuleAdapter adapter : existing.values()) {
            if (adapter instanceof Ia3Adapter) {
                boolean feedforward = ((Ia3Adapter) adapter).isFeedforward();
                return Ia3Modules.create((IA3Config) config, name, path, block, feedforward);
            }
        }
        return createAdapter(config, name, path, block);
    }

    @Override
    public String prefix() {
        return "ia3_";
    }
}

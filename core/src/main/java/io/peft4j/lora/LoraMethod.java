package io.peft4j.lora;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftType;
import io.peft4j.layer.ModuleAdapter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA (and DoRA, {@code use_dora}) as a {@link PeftMethod}: {@link LoraConfig}, the layers {@link LoraModules}
 * creates, the {@code lora_} names and the {@code bias} modes. AdaLoRA, a LoRA variant, shares the naming and bias
 * rules through the static helpers here.
 */
public final class LoraMethod implements PeftMethod {

    /** PEFT's prefix of LoRA parameter names. */
    public static final String PREFIX = "lora_";

    @Override
    public PeftType peftType() {
        return PeftType.LORA;
    }

    @Override
    public ConfigSchema configSchema() {
        return LoraConfig.SCHEMA;
    }

    @Override
    public AdapterConfig parseConfig(String source, Map<String, Object> json) {
        return new LoraConfig(source, json);
    }

    @Override
    public boolean supports(Block block) {
        return LoraModules.supports(block);
    }

    @Override
    public String supportedBlocks() {
        return LoraModules.SUPPORTED;
    }

    @Override
    public ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block) {
        return LoraModules.create((LoraConfig) config, name, path, block);
    }

    @Override
    public boolean trainsBaseParameter(AdapterConfig config, String name, String torchName, boolean adapted) {
        return trainsBias(((LoraConfig) config).bias(), name, torchName, adapted);
    }

    /** LoRA's {@code bias} modes: {@code all} trains every bias, {@code lora_only} those of adapted modules. */
    public static boolean trainsBias(LoraBias bias, String name, String torchName, boolean adapted) {
        return bias == LoraBias.ALL && name.contains("bias")
                || bias == LoraBias.LORA_ONLY && adapted && "bias".equals(torchName);
    }

    @Override
    public String prefix() {
        return PREFIX;
    }

    @Override
    public LinkedHashMap<String, Parameter> selectStateDict(AdapterConfig config, String adapter,
            Map<String, Parameter> named) {
        return selectWithBias(((LoraConfig) config).bias(), adapter, named);
    }

    /**
     * {@code get_peft_model_state_dict}'s selection for LoRA and AdaLoRA from the parameters left after the other
     * adapters' were dropped: every {@code lora_} parameter, plus biases as the {@code bias} mode says.
     */
    public static LinkedHashMap<String, Parameter> selectWithBias(LoraBias bias, String adapter,
            Map<String, Parameter> named) {
        LinkedHashMap<String, Parameter> selected = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : named.entrySet()) {
            String k = e.getKey();
            if (k.contains(PREFIX)) {
                selected.put(k, e.getValue());
                if (bias == LoraBias.LORA_ONLY) {
                    String biasName = k.substring(0, k.indexOf(PREFIX)) + "bias";
                    if (named.containsKey(biasName)) {
                        selected.put(biasName, named.get(biasName));
                    }
                }
            } else if (bias == LoraBias.ALL && k.contains("bias")) {
                selected.put(k, e.getValue());
            }
        }
        return selected;
    }

    /** DoRA's magnitude is saved as {@code lora_magnitude_vector}, without the {@code .weight} its module has. */
    @Override
    public String savedKey(String name, String adapter) {
        String doraSuffix = DoraMagnitude.NAME + "." + adapter + ".weight";
        return name.endsWith(doraSuffix) ? name.substring(0, name.length() - ".weight".length()) : name;
    }

    @Override
    public String modelKey(String name, String adapter) {
        return name.endsWith(DoraMagnitude.NAME + "." + adapter) ? name + ".weight" : name;
    }
}

package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftType;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.lora.LoraMethod;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA as a {@link PeftMethod}: {@link AdaLoraConfig}, the {@link SvdLinear} layers, LoRA's {@code lora_} names and
 * {@code bias} modes, tensors cut to the kept ranks when saved, and rank allocation during training
 * ({@link AdaLoraTraining}).
 */
public final class AdaLoraMethod implements PeftMethod {

    @Override
    public PeftType peftType() {
        return PeftType.ADALORA;
    }

    @Override
    public AdapterConfig parseConfig(String source, Map<String, Object> json) {
        return new AdaLoraConfig(source, json);
    }

    /**
     * {@code AdaLoraModel._check_new_adapter_config}: only one AdaLoRA adapter may be trainable (the rank allocator
     * follows one adapter); the others need {@code inference_mode: true}.
     */
    @Override
    public void checkNewAdapter(AdapterConfig config, Map<String, AdapterConfig> existing) {
        if (config.inferenceMode()) {
            return;
        }
        for (Map.Entry<String, AdapterConfig> e : existing.entrySet()) {
            if (e.getValue() instanceof AdaLoraConfig && !e.getValue().inferenceMode()) {
                throw new PeftConfigException(config.source() + ": AdaLoraModel supports only 1 trainable adapter. "
                        + "When using multiple adapters, set inference_mode to True for all adapters except the one "
                        + "you want to train. (adapter '" + e.getKey() + "' is trainable already)");
            }
        }
    }

    @Override
    public boolean supports(Block block) {
        return AdaLoraModules.supports(block);
    }

    @Override
    public String supportedBlocks() {
        return AdaLoraModules.SUPPORTED;
    }

    @Override
    public ModuleAdapter createAdapter(AdapterConfig config, String name, String path, Block block) {
        return AdaLoraModules.create((AdaLoraConfig) config, name, path, block);
    }

    @Override
    public boolean trainsBaseParameter(AdapterConfig config, String name, String torchName, boolean adapted) {
        return LoraMethod.trainsBias(((AdaLoraConfig) config).bias(), name, torchName, adapted);
    }

    @Override
    public String prefix() {
        return LoraMethod.PREFIX;
    }

    @Override
    public LinkedHashMap<String, Parameter> selectStateDict(AdapterConfig config, String adapter,
            Map<String, Parameter> named) {
        return LoraMethod.selectWithBias(((AdaLoraConfig) config).bias(), adapter, named);
    }

    /**
     * With a {@code rank_pattern}, {@code lora_A}/{@code lora_E} rows and {@code lora_B} columns are cut to the kept
     * ranks (PEFT's {@code resize_state_dict_by_rank_pattern}).
     */
    @Override
    public void resizeForSaving(AdapterConfig config, Map<String, NDArray> tensors) {
        Map<String, List<Boolean>> masks = ((AdaLoraConfig) config).rankMasks();
        if (masks == null) {
            return;
        }
        masks.forEach((name, mask) -> {
            int kept = (int) mask.stream().filter(Boolean::booleanValue).count();
            String prefix = name.substring(0, name.lastIndexOf('.'));
            for (String layer : new String[] {"lora_E", "lora_A", "lora_B"}) {
                NDArray t = tensors.get(prefix + "." + layer);
                int axis = "lora_B".equals(layer) ? 1 : 0;
                if (t == null || t.getShape().get(axis) == kept || t.getShape().get(axis) != mask.size()) {
                    continue;
                }
                long[] keep = new long[kept];
                for (int i = 0, j = 0; i < mask.size(); i++) {
                    if (mask.get(i)) {
                        keep[j++] = i;
                    }
                }
                NDArray index = t.getManager().create(keep);
                tensors.put(prefix + "." + layer, t.get(new NDIndex(axis == 0 ? "{}" : ":, {}", index)));
                index.close();
            }
        });
    }

    @Override
    public TrainingHook trainingHook() {
        return AdaLoraTraining.HOOK;
    }
}

package io.peft4j.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.ConfigSchema;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftType;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.lora.LoraMethod;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA as a {@link PeftMethod}: {@link AdaLoraConfig}, the {@link SvdLinear} and {@link SvdConv2d} layers, LoRA's
 * {@code lora_} names and
 * {@code bias} modes, tensors cut to the kept ranks when saved, and rank allocation during training
 * ({@link AdaLoraTraining}).
 */
public final class AdaLoraMethod implements PeftMethod {

    @Override
    public PeftType peftType() {
        return PeftType.ADALORA;
    }

    @Override
    public ConfigSchema configSchema() {
        return AdaLoraConfig.SCHEMA;
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
    public void resizeForSaving(AdapterConfig config, String adapter, Map<String, NDArray> tensors) {
        Map<String, List<Boolean>> masks = ((AdaLoraConfig) config).rankMasks();
        if (masks == null) {
            return;
        }
        masks.forEach((name, mask) -> {
            int kept = (int) mask.stream().filter(Boolean::booleanValue).count();
            String prefix = AdaLoraModules.modulePath(name, adapter);
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

    /**
     * {@code get_peft_model_state_dict} rewrites AdaLoRA's {@code rank_pattern} keys without the adapter name
     * ({@code fc1.lora_E.default} becomes {@code fc1.lora_E}); peft4j drops it as a whole last segment only.
     */
    @Override
    public AdapterConfig savedConfig(AdapterConfig config, String adapter) {
        Map<String, List<Boolean>> masks = ((AdaLoraConfig) config).rankMasks();
        if (masks == null || masks.isEmpty()) {
            return config;
        }
        Map<String, List<Boolean>> renamed = new LinkedHashMap<>();
        masks.forEach((key, mask) -> renamed.put(key.endsWith("." + adapter)
                ? key.substring(0, key.length() - adapter.length() - 1) : key, mask));
        return renamed.equals(masks) ? config : ((AdaLoraConfig) config).withRankMasks(renamed);
    }

    /**
     * AdaLoRA's {@code RankAllocator} asserts {@code 0 < beta1 < 1} and {@code 0 < beta2 < 1} when it is created,
     * that is when a trainable ({@code inference_mode: false}) adapter is injected.
     */
    @Override
    public void validate(AdapterConfig config, List<String> targetedPaths) {
        AdaLoraConfig c = (AdaLoraConfig) config;
        if (c.inferenceMode()) {
            return;
        }
        checkBeta(c, "beta1", c.beta1());
        checkBeta(c, "beta2", c.beta2());
    }

    private static void checkBeta(AdaLoraConfig config, String key, double value) {
        if (!(value > 0 && value < 1)) {
            throw new PeftConfigException(config.source(), key, "must lie in (0, 1) for training (PEFT's "
                    + "RankAllocator asserts 0 < " + key + " < 1), got " + value);
        }
    }

    @Override
    public TrainingHook trainingHook() {
        return AdaLoraTraining.HOOK;
    }
}

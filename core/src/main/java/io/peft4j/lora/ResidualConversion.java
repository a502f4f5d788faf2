package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftType;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;
import io.peft4j.state.AdapterDirectory;
import io.peft4j.state.PeftStateDicts;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Saves a PiSSA or OLoRA adapter as a plain LoRA adapter of the original base model, as PEFT's
 * {@code save_pretrained(..., path_initial_model_for_weight_conversion=...)} ({@code LoraModel.subtract_mutated_init}).
 *
 * <p>Such an adapter trains on the residual {@code W_res = W - s B0 A0}; after training the layer computes
 * {@code W_res + s B A = W + s (B A - B0 A0)}, and {@code B A - B0 A0 = [B | -B0] @ [A ; A0]} is a LoRA of rank
 * {@code 2r} on the unchanged {@code W}. The file holds {@code lora_A = cat([A, A0], 0)} and
 * {@code lora_B = cat([B, -B0], 1)}; the config is the adapter's with {@code init_lora_weights = true}, {@code r} and
 * {@code lora_alpha} doubled ({@code lora_alpha * sqrt(2)} with rsLoRA, so the scaling stays), and the
 * {@code rank_pattern}/{@code alpha_pattern} values doubled.
 *
 * <p>PEFT reads {@code A0}, {@code B0} from the initial adapter the user saved before training; peft4j keeps them from
 * the injection ({@link LoraLinear#initialFactors()}), which are exactly the factors that made this model's residual
 * (after reloading a {@code pissa_niter_N} adapter the random SVD is drawn again, so a file saved earlier would not
 * match). Tensors PEFT's conversion would silently drop (DoRA's magnitude, biases, {@code modules_to_save}, LoRA on
 * embeddings) make it refuse instead.
 */
public final class ResidualConversion {

    private static final PeftLog LOG = PeftLog.get(ResidualConversion.class);

    private ResidualConversion() {}

    /**
     * Writes adapter {@code adapter} of {@code model}, converted to a LoRA of the original base weights, into
     * {@code dir}.
     *
     * @return the written files
     * @throws IllegalArgumentException when the adapter did not change base weights, or cannot be converted
     */
    public static List<Path> save(ModelAdapters model, String adapter, Path dir) {
        return model.exclusive(() -> doSave(model, adapter, dir));
    }

    private static List<Path> doSave(ModelAdapters model, String adapter, Path dir) {
        AdapterConfig any = model.config(adapter);
        if (any.peftType() != PeftType.LORA) {
            throw new IllegalArgumentException("adapter '" + adapter + "' is " + any.peftType().jsonName()
                    + ": only a LoRA adapter initialised with PiSSA or OLoRA converts to a plain LoRA");
        }
        LoraConfig config = (LoraConfig) any;
        if (!config.initLoraWeights().changesBaseWeights()) {
            throw new IllegalArgumentException("adapter '" + adapter + "' was initialised with init_lora_weights="
                    + config.initLoraWeights().pythonRepr() + ", which leaves the base weights unchanged: save it "
                    + "as it is");
        }
        if (config.useRslora() && (!config.rankPattern().isEmpty() || !config.alphaPattern().isEmpty())) {
            throw new IllegalArgumentException("Passing `path_initial_model_for_weight_conversion` to "
                    + "`save_pretrained` is not supported when using `rank_pattern` or `alpha_pattern` at the same "
                    + "time as `use_rslora=True`. (adapter '" + adapter + "')");
        }
        Map<Parameter, LoraLinear> owners = new IdentityHashMap<>();
        for (TunedModule module : model.tunedModules().values()) {
            ModuleAdapter a = module.adapter(adapter);
            if (a instanceof LoraLinear) {
                owners.put(((LoraLinear) a).loraA(), (LoraLinear) a);
                owners.put(((LoraLinear) a).loraB(), (LoraLinear) a);
            }
        }
        LinkedHashMap<String, Parameter> live = PeftStateDicts.adapterStateDict(model, adapter);
        List<String> dropped = new ArrayList<>();
        live.forEach((key, p) -> {
            LoraLinear owner = owners.get(p);
            if (owner == null || owner.initialFactors() == null || owner instanceof DoraLinear) {
                dropped.add(key);
            }
        });
        if (!dropped.isEmpty()) {
            throw new IllegalArgumentException("adapter '" + adapter + "' cannot be converted to a plain LoRA: "
                    + "the conversion keeps only lora_A/lora_B of Linear layers (as PEFT's subtract_mutated_init), "
                    + "and would drop " + dropped);
        }
        LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Map.Entry<String, Parameter> e : live.entrySet()) {
                LoraLinear owner = owners.get(e.getValue());
                NDArray[] initial = owner.initialFactors();
                NDArray converted = e.getValue() == owner.loraA()
                        ? NDArrays.concat(new NDList(owner.loraA().getArray(), initial[0]), 0)
                        : NDArrays.concat(new NDList(owner.loraB().getArray(), initial[1].neg()), 1);
                tensors.put(e.getKey(), TensorArrays.fromNDArray(converted));
            }
        }
        AdapterConfig converted = convertedConfig(config);
        try {
            Files.createDirectories(dir);
            AdapterConfigs.write(converted, dir);
            SafetensorsWriter.write(dir.resolve(AdapterDirectory.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter '" + adapter + "' to " + dir + ": " + e.getMessage(),
                    e);
        }
        LOG.info("saved adapter '{}' (init_lora_weights={}) as a plain LoRA of the original base weights, r={} -> {} "
                + "({} tensors), to {}", adapter, config.initLoraWeights().pythonRepr(), config.r(),
                2 * config.r(), tensors.size(), dir);
        return List.of(dir.resolve(AdapterDirectory.CONFIG_FILE), dir.resolve(AdapterDirectory.WEIGHTS_FILE));
    }

    /** The config PEFT writes for the converted adapter. */
    static LoraConfig convertedConfig(LoraConfig config) {
        Map<String, Object> json = config.toJsonMap();
        json.put("init_lora_weights", true);
        json.put("r", 2 * config.r());
        if (config.useRslora()) {
            json.put("lora_alpha", config.loraAlpha() * Math.sqrt(2));
        } else {
            json.put("lora_alpha", doubled(json.get("lora_alpha"), config.loraAlpha()));
        }
        for (String pattern : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (json.get(pattern) instanceof Map) {
                @SuppressWarnings("unchecked")
                Map<String, Object> values = (Map<String, Object>) json.get(pattern);
                values.replaceAll((key, value) -> doubled(value, ((Number) value).doubleValue()));
            }
        }
        return (LoraConfig) AdapterConfigs.fromJsonMap(json, "converted adapter config");
    }

    /** Twice a JSON number, an integer when it is one (PEFT's {@code 2 * value} in Python). */
    private static Object doubled(Object jsonNumber, double value) {
        if (jsonNumber instanceof Long) {
            return 2 * (Long) jsonNumber;
        }
        if (jsonNumber instanceof BigInteger) {
            return ((BigInteger) jsonNumber).shiftLeft(1);
        }
        return 2 * value;
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import io.peft4j.config.InitLoraWeights;
import io.peft4j.tuner.WeightUpdate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on an embedding table ({@code IdEmbedding}, the {@code Embedding} family), as PEFT's {@code lora.Embedding}:
 * {@code lora_embedding_A: [r, num]}, {@code lora_embedding_B: [dim, r]},
 * {@code y = base(ids) + (A^T[ids] @ B^T) * scaling}, no dropout. Initialisation: A zeros and B standard normal
 * (PEFT's choice for embeddings); with {@code init_lora_weights=false} both standard normal.
 */
public final class LoraEmbedding implements LowRankAdapter {

    private final String name;
    private final int r;
    private final double scaling;
    private final Parameter table;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Map<String, Parameter> parameters;

    /** Creates the adapter for the embedding table {@code table} ({@code [num, dim]}, initialised). */
    public LoraEmbedding(String name, Parameter table, int r, double scaling, InitLoraWeights init) {
        this.name = name;
        this.r = r;
        this.scaling = scaling;
        this.table = table;
        NDArray weight = table.getArray();
        long num = weight.getShape().get(0);
        long dim = weight.getShape().get(1);
        NDManager manager = weight.getManager();
        DataType dtype = weight.getDataType();
        NDArray a = init == InitLoraWeights.FALSE ? manager.randomNormal(new Shape(r, num), dtype)
                : manager.zeros(new Shape(r, num), dtype);
        NDArray b = manager.randomNormal(new Shape(dim, r), dtype);
        loraA = AdapterParameters.create("lora_embedding_A." + name, a);
        loraB = AdapterParameters.create("lora_embedding_B." + name, b);
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put(loraA.getName(), loraA);
        params.put(loraB.getName(), loraB);
        this.parameters = Collections.unmodifiableMap(params);
    }

    @Override
    public String adapterName() {
        return name;
    }

    @Override
    public String adapterType() {
        return "LORA";
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    @Override
    public NDArray afterForward(ParameterStore store, NDArray input, NDArray output, boolean training) {
        NDArray a = store.getValue(loraA, output.getDevice(), training);
        NDArray b = store.getValue(loraB, output.getDevice(), training);
        NDArray ids = input.getDataType() == DataType.INT64 ? input : input.toType(DataType.INT64, false);
        NDArray afterA = Embedding.embedding(ids, a.transpose(), SparseFormat.DENSE).head();
        NDArray delta = afterA.matMul(b.transpose()).muli((float) scaling);
        return output.addi(delta.reshape(output.getShape()));
    }

    @Override
    public Parameter loraA() {
        return loraA;
    }

    @Override
    public Parameter loraB() {
        return loraB;
    }

    @Override
    public NDArray deltaMatrix() {
        return deltaWeight().transpose();
    }

    /** {@code (B @ A)^T * scaling}, shape {@code [num, dim]}. */
    @Override
    public NDArray deltaWeight() {
        return loraB.getArray().matMul(loraA.getArray()).transpose().mul((float) scaling);
    }

    @Override
    public void merge(boolean safe) {
        WeightUpdate.add(table.getArray(), this::deltaWeight, safe, "adapter '" + name + "'");
    }

    @Override
    public void unmerge() {
        WeightUpdate.subtract(table.getArray(), this::deltaWeight);
    }

    @Override
    public int rank() {
        return r;
    }

    @Override
    public double scaling() {
        return scaling;
    }
}

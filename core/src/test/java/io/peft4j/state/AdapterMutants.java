package io.peft4j.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ArbitrarySupplier;
import net.jqwik.api.Combinators;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Generators of hostile adapter files: mutants of a valid {@code adapter_model.safetensors} (length prefix, header
 * JSON, dtypes, shapes, offsets, overlaps, truncation, huge values, data bytes) and of a valid
 * {@code adapter_config.json} (types, ranges, unknown and missing fields, broken text). Shared by the in-process
 * fuzz tests of the loader and of the CLI's header reader.
 */
public final class AdapterMutants {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Lengths, offsets and sizes that break arithmetic: zero, signs, 2^31, 2^32, 2^40, 2^53, 2^63 - 1. */
    private static final List<Long> HUGE = List.of(0L, 1L, 7L, 8L, -1L, Long.MAX_VALUE, Long.MIN_VALUE,
            (long) Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 40, (1L << 53) + 1, 1L << 62);

    private AdapterMutants() {}

    /** A safetensors file cut in its parts, mutated, then put back together. */
    static final class Safetensors {
        ObjectNode header;
        String headerText;
        byte[] data;
        Long prefix;
        Integer truncateTo;
        int append;

        Safetensors(byte[] valid) {
            ByteBuffer buffer = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN);
            int length = (int) buffer.getLong();
            try {
                header = (ObjectNode) JSON.readTree(new String(valid, 8, length, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            data = Arrays.copyOfRange(valid, 8 + length, valid.length);
        }

        List<String> tensorNames() {
            List<String> names = new ArrayList<>();
            header.fieldNames().forEachRemaining(n -> {
                if (!n.equals("__metadata__")) {
                    names.add(n);
                }
            });
            return names;
        }

        byte[] bytes() {
            byte[] text = (headerText != null ? headerText : header.toString()).getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocate(8 + text.length + data.length + append)
                    .order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(prefix != null ? prefix : text.length).put(text).put(data);
            byte[] all = out.array();
            return truncateTo == null ? all : Arrays.copyOf(all, Math.min(truncateTo, all.length));
        }
    }

    /** {@link #safetensors()} for {@code @ForAll(supplier = AdapterMutants.WeightMutants.class)}. */
    public static final class WeightMutants implements ArbitrarySupplier<UnaryOperator<byte[]>> {
        @Override
        public Arbitrary<UnaryOperator<byte[]>> get() {
            return safetensors();
        }
    }

    /** {@link #config()} for {@code @ForAll(supplier = AdapterMutants.ConfigMutants.class)}. */
    public static final class ConfigMutants implements ArbitrarySupplier<UnaryOperator<String>> {
        @Override
        public Arbitrary<UnaryOperator<String>> get() {
            return config();
        }
    }

    /** One to four mutations of a valid safetensors file. */
    public static Arbitrary<UnaryOperator<byte[]>> safetensors() {
        return safetensorsMutation().list().ofMinSize(1).ofMaxSize(4).map(ops -> valid -> {
            Safetensors file = new Safetensors(valid);
            ops.forEach(op -> op.accept(file));
            return file.bytes();
        });
    }

    private interface Mutation {
        void accept(Safetensors file);
    }

    private static Arbitrary<Mutation> safetensorsMutation() {
        Arbitrary<Integer> index = Arbitraries.integers().between(0, 64);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Combinators.combine(index, dtype()).as((i, v) -> f -> field(f, i, "dtype",
                        v))),
                net.jqwik.api.Tuple.of(4, Combinators.combine(index, shape()).as((i, v) -> f -> field(f, i, "shape",
                        v))),
                net.jqwik.api.Tuple.of(4, Combinators.combine(index, offsets()).as((i, v) -> f -> field(f, i,
                        "data_offsets", v))),
                net.jqwik.api.Tuple.of(2, Combinators.combine(index, index).as(AdapterMutants::overlap)),
                net.jqwik.api.Tuple.of(2, Combinators.combine(index, Arbitraries.of("dtype", "shape",
                        "data_offsets")).as((i, name) -> f -> entry(f, i).remove(name))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(index, jsonValue()).as((i, v) -> f -> entry(f, i)
                        .set("extra", v))),
                net.jqwik.api.Tuple.of(2, Combinators.combine(index, tensorName()).as(AdapterMutants::rename)),
                net.jqwik.api.Tuple.of(1, index.map(i -> f -> remove(f, i))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(index, jsonValue()).as((i, v) -> f -> replace(f, i,
                        v))),
                net.jqwik.api.Tuple.of(1, jsonValue().map(v -> f -> f.header.set("__metadata__", v))),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(transposed()).map(op -> op)),
                net.jqwik.api.Tuple.of(3, prefix().map(p -> f -> f.prefix = p)),
                net.jqwik.api.Tuple.of(3, Arbitraries.integers().between(0, 2400).map(n -> f -> f.truncateTo = n)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(1, 64).map(n -> f -> f.append = n)),
                net.jqwik.api.Tuple.of(3, Combinators.combine(Arbitraries.integers().between(0, 400),
                        Arbitraries.integers().between(0, 255)).as(AdapterMutants::flipHeaderByte)),
                net.jqwik.api.Tuple.of(3, Combinators.combine(Arbitraries.integers().between(0, 2000),
                        dataWord()).as(AdapterMutants::overwriteData)));
    }

    private static ObjectNode entry(Safetensors f, int i) {
        List<String> names = f.tensorNames();
        if (names.isEmpty()) {
            return NODES.objectNode();
        }
        JsonNode node = f.header.get(names.get(i % names.size()));
        return node instanceof ObjectNode ? (ObjectNode) node : NODES.objectNode();
    }

    private static void field(Safetensors f, int i, String name, JsonNode value) {
        entry(f, i).set(name, value);
    }

    /** Gives tensor {@code j} the byte range of tensor {@code i} (or one overlapping it). */
    private static Mutation overlap(int i, int j) {
        return f -> {
            JsonNode range = entry(f, i).get("data_offsets");
            if (range instanceof ArrayNode && range.size() == 2) {
                long begin = range.get(0).asLong();
                long end = range.get(1).asLong();
                long shift = j % 2 == 0 ? 0 : (end - begin) / 2;
                entry(f, j).set("data_offsets", NODES.arrayNode().add(begin + shift).add(end + shift));
            }
        };
    }

    private static Mutation rename(int i, String name) {
        return f -> {
            List<String> names = f.tensorNames();
            if (names.isEmpty()) {
                return;
            }
            String old = names.get(i % names.size());
            ObjectNode renamed = NODES.objectNode();
            Iterator<String> it = f.header.fieldNames();
            while (it.hasNext()) {
                String n = it.next();
                renamed.set(n.equals(old) ? name : n, f.header.get(n));
            }
            f.header = renamed;
        };
    }

    private static void remove(Safetensors f, int i) {
        List<String> names = f.tensorNames();
        if (!names.isEmpty()) {
            f.header.remove(names.get(i % names.size()));
        }
    }

    private static void replace(Safetensors f, int i, JsonNode value) {
        List<String> names = f.tensorNames();
        if (!names.isEmpty()) {
            f.header.set(names.get(i % names.size()), value);
        }
    }

    /** Every 2-d shape transposed: byte ranges still fit, the model's shapes no longer do. */
    private static Mutation transposed() {
        return f -> {
            for (String name : f.tensorNames()) {
                JsonNode shape = f.header.get(name).get("shape");
                if (shape instanceof ArrayNode && shape.size() == 2) {
                    ((ObjectNode) f.header.get(name)).set("shape", NODES.arrayNode().add(shape.get(1))
                            .add(shape.get(0)));
                }
            }
        };
    }

    private static Mutation flipHeaderByte(int position, int value) {
        return f -> {
            byte[] text = (f.headerText != null ? f.headerText : f.header.toString())
                    .getBytes(StandardCharsets.UTF_8);
            text[position % text.length] = (byte) value;
            // Kept as ISO-8859-1 text, so that the broken byte survives the trip back to bytes only when ASCII;
            // a non-ASCII value becomes a two-byte UTF-8 sequence, another valid mutation.
            f.headerText = new String(text, StandardCharsets.ISO_8859_1);
        };
    }

    private static Mutation overwriteData(int position, byte[] word) {
        return f -> {
            if (f.data.length >= word.length) {
                int at = position % (f.data.length - word.length + 1);
                System.arraycopy(word, 0, f.data, at, word.length);
            }
        };
    }

    /** NaN, infinities, the largest float, a subnormal, random bits (little-endian float32). */
    private static Arbitrary<byte[]> dataWord() {
        Arbitrary<Float> special = Arbitraries.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.MAX_VALUE, Float.MIN_VALUE, -0f, 1e30f);
        Arbitrary<Float> floats = Arbitraries.oneOf(special, Arbitraries.integers().map(Float::intBitsToFloat));
        return floats.map(v -> ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
    }

    private static Arbitrary<Long> prefix() {
        return Arbitraries.oneOf(Arbitraries.of(HUGE), Arbitraries.longs().between(0, 2400),
                Arbitraries.longs());
    }

    private static Arbitrary<JsonNode> dtype() {
        return Arbitraries.oneOf(
                Arbitraries.of("F32", "F16", "BF16", "F64", "I8", "U8", "I16", "I32", "I64", "BOOL", "F8_E4M3",
                        "F8_E5M2", "f32", "", "F33", "U64", "C64").map(NODES::textNode),
                jsonValue());
    }

    private static Arbitrary<JsonNode> shape() {
        Arbitrary<JsonNode> dim = Arbitraries.oneOf(
                Arbitraries.of(HUGE).map(NODES::numberNode),
                Arbitraries.integers().between(0, 64).map(NODES::numberNode),
                Arbitraries.just(NODES.numberNode(new BigInteger("18446744073709551617"))),
                Arbitraries.of(1.5, -2.0, 1e300).map(NODES::numberNode),
                Arbitraries.just(NODES.textNode("4")));
        Arbitrary<JsonNode> array = dim.list().ofMaxSize(5).map(dims -> {
            ArrayNode a = NODES.arrayNode();
            dims.forEach(a::add);
            return a;
        });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, array), net.jqwik.api.Tuple.of(1, jsonValue()));
    }

    private static Arbitrary<JsonNode> offsets() {
        Arbitrary<Long> offset = Arbitraries.oneOf(Arbitraries.of(HUGE), Arbitraries.of(0L, 256L, 512L, 768L,
                1280L, 1792L, 1793L, 1791L), Arbitraries.longs().between(0, 2000));
        Arbitrary<JsonNode> pair = offset.list().ofMinSize(0).ofMaxSize(3).map(values -> {
            ArrayNode a = NODES.arrayNode();
            values.forEach(a::add);
            return a;
        });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, pair), net.jqwik.api.Tuple.of(1, jsonValue()));
    }

    private static Arbitrary<String> tensorName() {
        return Arbitraries.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc3.lora_A.weight",
                "fc1.lora_A.default.weight", "fc1.lora_B.bias", "fc1.lora_magnitude_vector", "head.weight",
                "fc1.weight", "", "__metadata__", "fc1.lora_A", "fc1.ia3_l", "fc1.lora_E", "..", "fc1..lora_A.weight",
                "fc1.lora_embedding_A", "base_model.model.fc1.lora_A.weight");
    }

    /** Any JSON value, including the awkward ones (huge and fractional numbers, deep nesting). */
    static Arbitrary<JsonNode> jsonValue() {
        Arbitrary<JsonNode> scalar = Arbitraries.oneOf(
                Arbitraries.just(NODES.nullNode()),
                Arbitraries.of(true, false).map(NODES::booleanNode),
                Arbitraries.of(HUGE).map(NODES::numberNode),
                Arbitraries.integers().between(-3, 70).map(NODES::numberNode),
                Arbitraries.of(0.0, -0.5, 0.5, 1.0, 2.5, 1e-300, 1e300, -1e300, 1e38, 3.5e38).map(NODES::numberNode),
                Arbitraries.just(NODES.numberNode(new BigInteger("340282366920938463463374607431768211457"))),
                Arbitraries.of("", "fc1", "fc2", "head", "all-linear", ".*", "fc[", "LORA", "IA3", "ADALORA",
                        "none", "all", "lora_only", "gaussian", "pissa", "olora", "orthogonal", "F32", "default",
                        "\u0000", "é").map(NODES::textNode));
        Arbitrary<JsonNode> array = scalar.list().ofMaxSize(4).map(items -> {
            ArrayNode a = NODES.arrayNode();
            items.forEach(a::add);
            return a;
        });
        Arbitrary<JsonNode> object = Combinators.combine(Arbitraries.of("fc1", "fc2", "head", "x", "fc.*", ""),
                scalar).as((k, v) -> NODES.objectNode().set(k, v));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, scalar), net.jqwik.api.Tuple.of(2, array),
                net.jqwik.api.Tuple.of(2, object));
    }

    /** One to three mutations of a valid {@code adapter_config.json}'s text. */
    public static Arbitrary<UnaryOperator<String>> config() {
        return configMutation().list().ofMinSize(1).ofMaxSize(3).map(ops -> valid -> {
            String text = valid;
            for (UnaryOperator<String> op : ops) {
                text = op.apply(text);
            }
            return text;
        });
    }

    private static final List<String> CONFIG_KEYS = List.of("r", "lora_alpha", "target_modules", "peft_type",
            "use_dora", "lora_dropout", "fan_in_fan_out", "bias", "modules_to_save", "rank_pattern", "alpha_pattern",
            "init_lora_weights", "layers_to_transform", "layers_pattern", "use_rslora", "exclude_modules",
            "task_type", "lora_bias", "target_r", "init_r", "total_step", "tinit", "tfinal", "deltaT", "beta1",
            "beta2", "orth_reg_weight", "feedforward_modules", "inference_mode", "target_parameters",
            "trainable_token_indices", "layer_replication", "megatron_config", "revision", "peft_version",
            "auto_mapping", "base_model_name_or_path", "unknown_field");

    private static Arbitrary<UnaryOperator<String>> configMutation() {
        Arbitrary<String> key = Arbitraries.of(CONFIG_KEYS);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Combinators.combine(key, jsonValue()).as((k, v) -> json(o -> o.set(k, v)))),
                net.jqwik.api.Tuple.of(3, key.map(k -> json(o -> o.remove(k)))),
                net.jqwik.api.Tuple.of(2, Arbitraries.of("LORA", "IA3", "ADALORA", "LOHA", "lora", "", "PROMPT_TUNING")
                        .map(t -> json(o -> o.put("peft_type", t)))),
                net.jqwik.api.Tuple.of(2, Arbitraries.of(0, -1, 1, 2, 3, 5, 8, 33, 1 << 16, Integer.MAX_VALUE)
                        .map(r -> json(o -> o.put("r", r)))),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 2000).map(n -> text -> text.substring(0,
                        Math.min(n, text.length())))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 2000),
                        Arbitraries.chars()).as((at, c) -> text -> {
                            if (text.isEmpty()) {
                                return text;
                            }
                            char[] chars = text.toCharArray();
                            chars[at % chars.length] = c;
                            return new String(chars);
                        })),
                net.jqwik.api.Tuple.of(1, Arbitraries.of("\uFEFF", "[", "null", " ", "{\"r\": 4, ").map(p -> text -> p
                        + text)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(",\"r\": 4}", ",\"r\": 9}", ",\"peft_type\": \"IA3\"}")
                        .map(dup -> text -> text.substring(0, Math.max(0, text.lastIndexOf('}'))) + dup)));
    }

    private static UnaryOperator<String> json(java.util.function.Consumer<ObjectNode> edit) {
        return text -> {
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (IOException e) {
                return text;
            }
            if (!(node instanceof ObjectNode)) {
                return text;
            }
            edit.accept((ObjectNode) node);
            return node.toString();
        };
    }
}

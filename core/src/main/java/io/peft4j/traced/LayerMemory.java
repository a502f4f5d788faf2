package io.peft4j.traced;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Facts about a traced model's modules that the first adapter on a module fixes for every later one, as PEFT's
 * tuner layers do (IA3's {@code is_feedforward} is decided when the layer is created, so a second adapter inherits
 * it whatever its own config says).
 */
public final class LayerMemory {

    private final Map<String, Object> facts = new ConcurrentHashMap<>();

    /** The fact under {@code key}, computed by {@code first} if no adapter fixed it yet. */
    @SuppressWarnings("unchecked")
    public <T> T remember(String key, Supplier<T> first) {
        return (T) facts.computeIfAbsent(key, k -> first.get());
    }
}

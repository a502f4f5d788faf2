package io.peft4j.traced;

import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PeftType;

import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The {@link TracedMethod}s on the class path by PEFT type, found once with {@link ServiceLoader} (the methods
 * register themselves in {@code META-INF/services/io.peft4j.traced.TracedMethod}).
 */
public final class TracedMethods {

    private static volatile Map<PeftType, TracedMethod> methods;

    private TracedMethods() {}

    /**
     * The method for {@code type}.
     *
     * @throws PeftConfigException when no method on the class path handles it
     */
    public static TracedMethod forType(PeftType type) {
        TracedMethod method = all().get(type);
        if (method == null) {
            throw new PeftConfigException("peft_type " + type.jsonName() + " cannot be merged into a traced model: "
                    + "no peft4j method for it is on the class path (found: " + all().keySet() + ")");
        }
        return method;
    }

    private static Map<PeftType, TracedMethod> all() {
        Map<PeftType, TracedMethod> found = methods;
        if (found == null) {
            found = new HashMap<>();
            for (TracedMethod m : ServiceLoader.load(TracedMethod.class, TracedMethod.class.getClassLoader())) {
                TracedMethod previous = found.putIfAbsent(m.peftType(), m);
                if (previous != null && previous.getClass() != m.getClass()) {
                    throw new IllegalStateException("two traced-model methods for " + m.peftType() + ": "
                            + previous.getClass().getName() + " and " + m.getClass().getName());
                }
            }
            methods = found;
        }
        return found;
    }
}

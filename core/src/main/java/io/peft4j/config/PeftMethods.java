package io.peft4j.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The registered {@link PeftMethod}s, found once with {@link ServiceLoader} in the class loader that loaded peft4j
 * (the application's, or the agent jar's), in the order of their {@code META-INF/services} lines.
 */
public final class PeftMethods {

    private PeftMethods() {}

    /** Loaded on first use. */
    private static final class Registered {
        static final Map<String, PeftMethod> BY_NAME = load();
    }

    private static Map<String, PeftMethod> load() {
        Map<String, PeftMethod> methods = new LinkedHashMap<>();
        try {
            for (PeftMethod method : ServiceLoader.load(PeftMethod.class, PeftMethods.class.getClassLoader())) {
                PeftMethod previous = methods.putIfAbsent(method.peftType().jsonName(), method);
                if (previous != null && previous.getClass() != method.getClass()) {
                    throw new IllegalStateException("two PEFT methods register peft_type "
                            + method.peftType().jsonName() + ": " + previous.getClass().getName() + " and "
                            + method.getClass().getName());
                }
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("cannot load the PEFT methods listed in META-INF/services/"
                    + PeftMethod.class.getName() + ": " + e.getMessage(), e);
        }
        if (methods.isEmpty()) {
            throw new IllegalStateException("no PEFT method is registered: META-INF/services/"
                    + PeftMethod.class.getName() + " is missing from peft4j's jar");
        }
        return methods;
    }

    /** Every registered method, in registration order. */
    public static List<PeftMethod> all() {
        return new ArrayList<>(Registered.BY_NAME.values());
    }

    /** The method for {@code type}. */
    public static PeftMethod of(PeftType type) {
        PeftMethod method = find(type.jsonName());
        if (method == null) {
            throw new PeftConfigException("peft_type " + type.jsonName() + " is not supported by peft4j yet "
                    + "(supported: " + supportedNames() + ")");
        }
        return method;
    }

    /** The method of {@code config}. */
    public static PeftMethod of(AdapterConfig config) {
        return of(config.peftType());
    }

    /** The method registered for {@code peft_type} {@code jsonName}, or {@code null}. */
    static PeftMethod find(String jsonName) {
        return Registered.BY_NAME.get(jsonName);
    }

    /** The registered {@code peft_type} values, comma separated: {@code "LORA, IA3, ADALORA"}. */
    static String supportedNames() {
        return String.join(", ", Registered.BY_NAME.keySet());
    }
}

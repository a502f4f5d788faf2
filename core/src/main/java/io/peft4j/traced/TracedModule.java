package io.peft4j.traced;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A module of a traced model as its parameter names reveal it: the path (the parameter names without their last
 * segment, e.g. {@code h.0.attn.c_attn}) and its own parameters ({@code weight}, {@code bias}, ...).
 */
public final class TracedModule {

    private final String path;
    private final Map<String, Parameter> parameters;

    TracedModule(String path, Map<String, Parameter> parameters) {
        this.path = path;
        this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /** The module path, PyTorch's {@code named_modules()} key. */
    public String path() {
        return path;
    }

    /** The module's own parameters by local name ({@code weight}, {@code bias}). */
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /** The {@code weight} parameter, or {@code null}. */
    public Parameter weight() {
        return parameters.get("weight");
    }

    /** The {@code bias} parameter, or {@code null}. */
    public Parameter bias() {
        return parameters.get("bias");
    }

    /** The weight's shape, or {@code null} without a weight. */
    public Shape weightShape() {
        Parameter w = weight();
        return w == null ? null : w.getArray().getShape();
    }

    /** The full name of local parameter {@code local}: {@code path.local}. */
    public String parameterName(String local) {
        return path + "." + local;
    }

    /** For logs and errors: {@code weight [32, 16], bias [32]}. */
    public String describeParameters() {
        StringBuilder sb = new StringBuilder();
        parameters.forEach((name, p) -> sb.append(sb.length() == 0 ? "" : ", ").append(name).append(' ')
                .append(TracedShapes.str(p.getArray().getShape())));
        return sb.length() == 0 ? "no parameters" : sb.toString();
    }

    @Override
    public String toString() {
        return path + " (" + describeParameters() + ")";
    }
}

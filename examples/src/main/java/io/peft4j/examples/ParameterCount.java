package io.peft4j.examples;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.Locale;

/**
 * How many scalar parameters a model has, and how many of them training updates.
 *
 * @param trainable scalars in parameters that require a gradient
 * @param total scalars in all parameters
 */
public record ParameterCount(long trainable, long total) {

    /**
     * Counts over {@code model.getBlock().getParameters()}, the list DJL's Trainer itself optimises; call it once the
     * parameters are initialised (after {@code Trainer.initialize} or loading).
     *
     * @param model the model
     * @return the counts
     */
    public static ParameterCount of(Model model) {
        long trainable = 0;
        long total = 0;
        for (Pair<String, Parameter> pair : model.getBlock().getParameters()) {
            Parameter parameter = pair.getValue();
            long size = parameter.getArray().size();
            total += size;
            if (parameter.requiresGradient()) {
                trainable += size;
            }
        }
        return new ParameterCount(trainable, total);
    }

    /** Trainable scalars as a percentage of all. */
    public double trainablePercent() {
        return total == 0 ? 0 : 100.0 * trainable / total;
    }

    /** The counts without the share, for example {@code 6,656 of 91,658}. */
    public String counts() {
        return String.format(Locale.ROOT, "%,d of %,d", trainable, total);
    }

    /**
     * For example {@code 6,656 of 91,658 (7.2618%)}: the share with the four decimals of PEFT's
     * {@code print_trainable_parameters}, which the agent logs in the same terms.
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%.4f%%)", counts(), trainablePercent());
    }
}

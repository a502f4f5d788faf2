package io.peft4j.match;

import io.peft4j.config.PeftConfigException;

/**
 * No module of the model matches {@code target_modules} (and nothing was excluded): PEFT's {@code "Target modules
 * ... not found in the base model"}. A type of its own so that callers can tell "this config is not for this model"
 * (the agent leaves a block run on its own unadapted) from a config that is wrong for any model.
 */
public final class TargetsNotFoundException extends PeftConfigException {

    private static final long serialVersionUID = 1L;

    /** The error with PEFT's message followed by peft4j's {@code note} (the nearest module paths). */
    TargetsNotFoundException(String peftMessage, String note) {
        super(peftMessage + note, peftMessage);
    }

    private TargetsNotFoundException(String source, String message, String peftMessage) {
        super(source, null, message, peftMessage);
    }

    /** The same error naming the config's file; still a {@code TargetsNotFoundException}. */
    @Override
    public PeftConfigException from(String source) {
        return source() != null || source == null ? this : new TargetsNotFoundException(source, getMessage(),
                peftMessage());
    }
}

package io.peft4j.state;

import java.util.List;

/**
 * What {@code setStateDict} did not use or did not find, as torch's {@code load_state_dict(strict=False)} reports it.
 *
 * @param unexpectedKeys keys of the given state dict that match no parameter of the model
 * @param missingAdapterKeys keys the adapter has that the given state dict did not provide
 */
public record StateDictLoadResult(List<String> unexpectedKeys, List<String> missingAdapterKeys) {

    /** Whether every key was used and every adapter key was provided. */
    public boolean isComplete() {
        return unexpectedKeys.isEmpty() && missingAdapterKeys.isEmpty();
    }
}

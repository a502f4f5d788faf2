package io.peft4j.traced;

/** Placeholder, replaced below. */
final class TracedTraining {
}

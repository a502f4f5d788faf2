package io.peft4j.agent;

/**
 * What automatic injection and the operator's JMX operations share, made before either: one monitor (an operation
 * never overlaps an injection: both synchronize on the gate) and the switch with which {@code removeAll} stops
 * automatic injection into models not adapted yet.
 */
final class InjectionGate {

    private volatile boolean closed;

    /** Stops automatic injection for good; models are still recorded. */
    void close() {
        closed = true;
    }

    /** Whether automatic injection was stopped. */
    boolean isClosed() {
        return closed;
    }
}

/**
 * Byte Buddy advice inlined into DJL classes and the plain runtime classes it calls. Advice is thin and never lets an
 * error reach the application (except a deliberate {@link io.peft4j.instrument.InjectionFailure}); the runtime
 * classes do the work and are unit-tested.
 */
package io.peft4j.instrument;

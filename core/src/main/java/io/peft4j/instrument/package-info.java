/**
 * The instrumentation of DJL: {@link io.peft4j.instrument.DjlWeaver} weaves static calls into a few DJL methods with
 * plain ASM (no Byte Buddy advice; Byte Buddy only supplies the {@code Instrumentation} when no agent was given), and
 * those calls land in the hook classes here ({@code ForwardHooks}, {@code ModelHooks}, {@code ParameterHooks},
 * {@code TrainingHooks}). Hooks are thin, never let an error reach the application (except a deliberate
 * {@link io.peft4j.instrument.InjectionFailure}) and count what they suppress ({@code AdviceErrors}); the work is in
 * plain classes that are unit-tested.
 */
package io.peft4j.instrument;

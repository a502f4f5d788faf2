/**
 * The peft4j demo: {@link io.peft4j.examples.DigitsDemo}, an ordinary DJL application that pre-trains a digits
 * classifier and fine-tunes it on a shifted domain. It never references peft4j: run as is it fine-tunes every weight;
 * run with {@code -javaagent:peft4j-agent.jar=adapter=DIR} the same code trains a LoRA adapter instead.
 */
package io.peft4j.examples;

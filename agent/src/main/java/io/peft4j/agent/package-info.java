/** The {@code -javaagent}: options, start-up and automatic injection into unmodified DJL applications. */
package io.peft4j.agent;

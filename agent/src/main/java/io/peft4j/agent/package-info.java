/**
 * The {@code -javaagent}: start-up ({@code premain}/{@code agentmain}), automatic injection into unmodified DJL
 * applications, and the operations behind JMX.
 */
package io.peft4j.agent;

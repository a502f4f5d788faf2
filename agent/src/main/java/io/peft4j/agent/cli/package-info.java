/** {@code java -jar peft4j-agent.jar attach | inspect | jmx}: the operator's command line (runs without DJL). */
package io.peft4j.agent.cli;

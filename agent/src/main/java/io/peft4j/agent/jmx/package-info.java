/** The MXBean {@code io.peft4j:type=Adapters}: open-type views of the injected adapters and operations on them. */
package io.peft4j.agent.jmx;

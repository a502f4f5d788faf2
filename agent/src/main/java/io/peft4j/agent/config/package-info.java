/** The agent's options: keys, environment variable names, defaults and their resolution by precedence. */
package io.peft4j.agent.config;

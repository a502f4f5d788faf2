/** Logging that reaches the user whether or not the application has an SLF4J provider. */
package io.peft4j.log;

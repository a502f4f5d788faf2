package io.peft4j.config;
/** STUB. */
public enum InitLoraWeights { TRUE, FALSE, GAUSSIAN }

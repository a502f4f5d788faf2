package io.peft4j.config;
/** STUB. */
public enum LoraBias { NONE, ALL, LORA_ONLY }

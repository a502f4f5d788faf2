package io.peft4j.config;
/** STUB. */
public class PeftConfigException extends RuntimeException { public PeftConfigException(String m) { super(m); } }

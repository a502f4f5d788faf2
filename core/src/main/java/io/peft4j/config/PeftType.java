package io.peft4j.config;
/** STUB. */
public enum PeftType { LORA, IA3, ADALORA;
  public String jsonName() { return name(); }
  public static PeftType fromJson(String s) { return valueOf(s); } }

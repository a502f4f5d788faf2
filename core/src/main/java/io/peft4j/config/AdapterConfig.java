package io.peft4j.config;
import java.util.*;
/** STUB. */
public abstract class AdapterConfig {
  public abstract PeftType peftType();
  public abstract TargetModules targetModules();
  public TargetModules excludeModules() { return null; }
  public List<Integer> layersToTransform() { return null; }
  public List<String> layersPattern() { return null; }
  public List<String> modulesToSave() { return List.of(); }
  public Map<String, Object> toJsonMap() { return new LinkedHashMap<>(); }
}

package io.peft4j.config;
import java.util.*;
/** STUB. */
public class LoraConfig extends AdapterConfig {
  int r = 8; double alpha = 8; double dropout; LoraBias bias = LoraBias.NONE; boolean rslora; TargetModules tm; List<String> mts = List.of();
  Map<String,Integer> rp = new LinkedHashMap<>(); Map<String,Double> ap = new LinkedHashMap<>(); InitLoraWeights init = InitLoraWeights.TRUE;
  public PeftType peftType() { return PeftType.LORA; }
  public TargetModules targetModules() { return tm; }
  public List<String> modulesToSave() { return mts; }
  public int r() { return r; } public double loraAlpha() { return alpha; } public double loraDropout() { return dropout; }
  public LoraBias bias() { return bias; } public boolean useRslora() { return rslora; } public InitLoraWeights initLoraWeights() { return init; }
  public boolean fanInFanOut() { return false; } public Map<String,Integer> rankPattern() { return rp; } public Map<String,Double> alphaPattern() { return ap; }
  public boolean loraBias() { return false; } public boolean useDora() { return false; }
  public static Builder builder() { return new Builder(); }
  /** STUB. */
  public static final class Builder { final LoraConfig c = new LoraConfig();
    public Builder r(int r) { c.r = r; return this; } public Builder loraAlpha(double a) { c.alpha = a; return this; }
    public Builder loraDropout(double d) { c.dropout = d; return this; } public Builder bias(LoraBias b) { c.bias = b; return this; }
    public Builder useRslora(boolean b) { c.rslora = b; return this; } public Builder targetModules(List<String> t) { c.tm = TargetModules.ofNames(t); return this; }
    public Builder targetModules(String t) { c.tm = TargetModules.ofRegex(t); return this; } public Builder modulesToSave(List<String> m) { c.mts = m; return this; }
    public Builder rankPattern(Map<String,Integer> m) { c.rp = m; return this; } public Builder alphaPattern(Map<String,Double> m) { c.ap = m; return this; }
    public Builder initLoraWeights(InitLoraWeights i) { c.init = i; return this; }
    public LoraConfig build() { return c; } }
}

package io.peft4j.config;
import java.util.*;
/** STUB. */
public final class TargetModules {
  private final List<String> names; private final String regex;
  private TargetModules(List<String> n, String r) { names = n; regex = r; }
  public static TargetModules ofNames(List<String> n) { return new TargetModules(List.copyOf(n), null); }
  public static TargetModules ofRegex(String r) { return new TargetModules(null, r); }
  public boolean isRegex() { return regex != null; }
  public String regex() { return regex; }
  public List<String> names() { return names; }
  public boolean isAllLinear() { return regex != null && regex.equalsIgnoreCase("all-linear"); }
  public boolean isEmpty() { return regex == null && names.isEmpty(); }
  public String describe() { return regex != null ? regex : "{'" + String.join("', '", names) + "'}"; }
}

package io.peft4j.match;
import io.peft4j.config.*; import java.util.*;
/** STUB2. */ class X {}
/** STUB. */
public final class TargetMatcher {
  public static boolean isTargeted(AdapterConfig c, String key) { TargetModules t = c.targetModules();
    if (t.isRegex()) return java.util.regex.Pattern.compile(t.regex()).matcher(key).matches();
    for (String n : t.names()) if (key.equals(n) || key.endsWith("." + n)) return true; return false; }
  public static boolean isExcluded(AdapterConfig c, String key) { return false; }
  public static String findPatternKey(Collection<String> keys, String key) { for (String k : keys) if (key.matches("(.*\\.)?(" + k + ")$")) return k; return null; }
  public static String targetsNotFoundMessage(AdapterConfig c) { return "Target modules " + c.targetModules().describe() + " not found in the base model. Please check the target modules and try again."; }
}

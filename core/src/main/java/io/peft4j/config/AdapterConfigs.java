package io.peft4j.config;
import java.nio.file.*; import java.util.*;
import com.fasterxml.jackson.databind.*; import com.fasterxml.jackson.databind.node.*;
/** STUB. */
public final class AdapterConfigs {
  public static AdapterConfig read(Path p) { try { if (Files.isDirectory(p)) p = p.resolve("adapter_config.json"); return parse(Files.readString(p), p.toString()); } catch (java.io.IOException e) { throw new PeftConfigException(p + ": " + e); } }
  public static AdapterConfig parse(String json, String source) { try { JsonNode n = new ObjectMapper().readTree(json);
    LoraConfig.Builder b = LoraConfig.builder().r(n.get("r").asInt()).loraAlpha(n.get("lora_alpha").asDouble()).loraDropout(n.path("lora_dropout").asDouble())
      .useRslora(n.path("use_rslora").asBoolean());
    JsonNode t = n.get("target_modules"); if (t.isTextual()) b.targetModules(t.asText()); else { List<String> l = new ArrayList<>(); t.forEach(x -> l.add(x.asText())); b.targetModules(l); }
    b.bias(LoraBias.valueOf(n.path("bias").asText("none").toUpperCase()));
    JsonNode m = n.get("modules_to_save"); if (m != null && m.isArray()) { List<String> l = new ArrayList<>(); m.forEach(x -> l.add(x.asText())); b.modulesToSave(l); }
    Map<String,Integer> rp = new LinkedHashMap<>(); n.path("rank_pattern").fields().forEachRemaining(e -> rp.put(e.getKey(), e.getValue().asInt())); b.rankPattern(rp);
    Map<String,Double> ap = new LinkedHashMap<>(); n.path("alpha_pattern").fields().forEachRemaining(e -> ap.put(e.getKey(), e.getValue().asDouble())); b.alphaPattern(ap);
    return b.build(); } catch (java.io.IOException e) { throw new PeftConfigException(source + ": " + e); } }
  public static void write(AdapterConfig c, Path dir) { try { Files.writeString(dir.resolve("adapter_config.json"), toJson(c)); } catch (java.io.IOException e) { throw new RuntimeException(e); } }
  public static String toJson(AdapterConfig c) { return "{}"; }
}

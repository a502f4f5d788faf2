package io.peft4j.io;
import java.util.*; import java.nio.file.*; import java.io.IOException;
/** STUB. */
public final class SafetensorsFile { LinkedHashMap<String,TensorData> t = new LinkedHashMap<>();
  public static SafetensorsFile read(Path p) throws IOException {
    byte[] b = Files.readAllBytes(p); java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int n = (int) bb.getLong(0); com.fasterxml.jackson.databind.JsonNode h = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new String(b, 8, n, java.nio.charset.StandardCharsets.UTF_8));
    SafetensorsFile f = new SafetensorsFile();
    h.fields().forEachRemaining(e -> { if (e.getKey().equals("__metadata__")) return; long s = e.getValue().get("data_offsets").get(0).asLong(); long en = e.getValue().get("data_offsets").get(1).asLong();
      long[] shape = new long[e.getValue().get("shape").size()]; for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().get("shape").get(i).asLong();
      String dt = e.getValue().get("dtype").asText(); float[] fl = new float[(int) ((en - s) / (dt.equals("I64") ? 8 : 4))];
      for (int i = 0; i < fl.length; i++) fl[i] = dt.equals("I64") ? bb.getLong((int) (8 + n + s + 8L * i)) : bb.getFloat((int) (8 + n + s + 4L * i));
      f.t.put(e.getKey(), new TensorData(fl, shape)); });
    return f; }
  public List<String> names() { return new ArrayList<>(t.keySet()); }
  public TensorData get(String n) { return t.get(n); }
  public LinkedHashMap<String,TensorData> tensors() { return t; } }

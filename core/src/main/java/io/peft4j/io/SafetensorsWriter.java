package io.peft4j.io;
import java.util.*; import java.nio.file.*; import java.io.IOException;
/** STUB. */
public final class SafetensorsWriter { public static void write(Path p, Map<String,TensorData> t, Map<String,String> m) throws IOException { Files.writeString(p, "stub"); } }

package io.peft4j.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Where executors find the adapter directories (PEFT's layout: {@code adapter_config.json} and
 * {@code adapter_model.safetensors}) named by the adapter column. Either a path every executor can read
 * ({@link #shared}), or directories of the driver that Spark delivers to every executor ({@link #ship}: the files
 * travel as one broadcast variable and are written to a temporary directory of each executor, once).
 * Adapters are read-only: a retried task reads the same files and gets the same results.
 */
public final class AdapterDirectories implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Shipped adapters of this JVM, written once each: broadcast id and adapter name to its directory. */
    private static final Map<String, Path> WRITTEN = new ConcurrentHashMap<>();

    /** Adapter name to its path (shared), or to nothing (shipped). */
    private final LinkedHashMap<String, String> locations;
    /** Adapter name to its files (file name to bytes); null for shared directories. */
    private final Broadcast<HashMap<String, HashMap<String, byte[]>>> files;

    private AdapterDirectories(Map<String, String> locations,
            Broadcast<HashMap<String, HashMap<String, byte[]>>> files) {
        this.locations = new LinkedHashMap<>(locations);
        this.files = files;
    }

    /** No adapter directories: rows run with the adapters the model already has (for example the agent's). */
    public static AdapterDirectories none() {
        return new AdapterDirectories(Map.of(), null);
    }

    /**
     * Adapter directories at paths every executor can read (NFS, a path baked into the executor image, ...).
     *
     * @param dirs adapter name to its directory
     * @return the directories
     */
    public static AdapterDirectories shared(Map<String, Path> dirs) {
        LinkedHashMap<String, String> locations = new LinkedHashMap<>();
        dirs.forEach((name, dir) -> locations.put(checkName(name), dir.toAbsolutePath().toString()));
        return new AdapterDirectories(locations, null);
    }

    /**
     * Ships adapter directories of the driver to every executor: their files (adapters are small: kilobytes to a few
     * hundred megabytes) go out as one Spark broadcast variable, fetched once per executor, and the first task that
     * needs an adapter writes it to a temporary directory of its executor. (Spark's {@code addFile} refuses local
     * directories outside local mode.) For adapters too large to broadcast, use {@link #shared}.
     *
     * @param context the application's Spark context
     * @param dirs adapter name to a directory on the driver
     * @return the directories
     * @throws IllegalArgumentException naming the adapter if a directory is not an adapter directory
     * @throws UncheckedIOException naming the adapter if its files cannot be read
     */
    public static AdapterDirectories ship(SparkContext context, Map<String, Path> dirs) {
        LinkedHashMap<String, String> locations = new LinkedHashMap<>();
        HashMap<String, HashMap<String, byte[]>> contents = new HashMap<>();
        for (Map.Entry<String, Path> e : dirs.entrySet()) {
            String name = checkName(e.getKey());
            Path dir = e.getValue().toAbsolutePath().normalize();
            if (!Files.isRegularFile(dir.resolve("adapter_config.json"))) {
                throw new IllegalArgumentException("adapter '" + name + "': " + dir
                        + " is not an adapter directory (no adapter_config.json)");
            }
            HashMap<String, byte[]> files = new HashMap<>();
            try (Stream<Path> list = Files.list(dir)) {   // PEFT's layout is flat
                for (Path file : list.filter(Files::isRegularFile).toList()) {
                    files.put(file.getFileName().toString(), Files.readAllBytes(file));
                }
            } catch (IOException x) {
                throw new UncheckedIOException("adapter '" + name + "': cannot read " + dir, x);
            }
            contents.put(name, files);
            locations.put(name, dir.toString());
        }
        return new AdapterDirectories(locations, JavaSparkContext.fromSparkContext(context).broadcast(contents));
    }

    private static String checkName(String name) {
        if (name == null || name.isBlank() || AdapterColumn.isBase(name)) {
            throw new IllegalArgumentException("adapter name '" + name + "' is reserved for the base model");
        }
        return name;
    }

    /** The adapter names, in the order given. */
    public Set<String> names() {
        return Collections.unmodifiableSet(locations.keySet());
    }

    /**
     * The directory of adapter {@code name} in this JVM: the shared path, or where this executor wrote the shipped
     * files.
     *
     * @param name an adapter name from {@link #names()}
     * @return its directory
     */
    public Path resolve(String name) {
        String location = locations.get(name);
        if (location == null) {
            throw new IllegalArgumentException("no adapter directory named '" + name + "' (known: " + names() + ")");
        }
        if (files == null) {
            return Path.of(location);
        }
        return WRITTEN.computeIfAbsent(files.id() + "/" + name, key -> {
            try {
                Path dir = Files.createTempDirectory("peft4j-adapter-");
                for (Map.Entry<String, byte[]> f : files.value().get(name).entrySet()) {
                    Files.write(dir.resolve(f.getKey()), f.getValue());
                }
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException("adapter '" + name + "': cannot write the shipped files", e);
            }
        });
    }

    @Override
    public String toString() {
        return (files == null ? "shared " : "shipped ") + locations;
    }
}

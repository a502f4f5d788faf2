package io.peft4j.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.SparkFiles;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Where executors find the adapter directories (PEFT's layout: {@code adapter_config.json} and
 * {@code adapter_model.safetensors}) named by the adapter column. Either a path every executor can read
 * ({@link #shared}), or a directory the driver ships to every executor with Spark's own file distribution
 * ({@link #ship}: {@code SparkContext.addFile(dir, recursive = true)}, found on the executor with
 * {@code SparkFiles.get}). Adapters are read-only: a retried task reads the same files and gets the same results.
 */
public final class AdapterDirectories implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Adapter name to a path (shared) or to the name of a shipped directory (its last path element). */
    private final LinkedHashMap<String, String> locations;
    private final boolean shipped;

    private AdapterDirectories(Map<String, String> locations, boolean shipped) {
        this.locations = new LinkedHashMap<>(locations);
        this.shipped = shipped;
    }

    /** No adapter directories: rows run with the adapters the model already has (for example the agent's). */
    public static AdapterDirectories none() {
        return new AdapterDirectories(Map.of(), false);
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
        return new AdapterDirectories(locations, false);
    }

    /**
     * Ships local adapter directories of the driver to every executor ({@code SparkContext.addFile} with
     * {@code recursive = true}; the files are fetched once per executor, before its first task).
     *
     * @param context the application's Spark context
     * @param dirs adapter name to a directory on the driver; the last path elements must differ (Spark keeps shipped
     *     files by that name)
     * @return the directories, resolved on each executor with {@code SparkFiles.get}
     * @throws IllegalArgumentException naming the directory if one is not an adapter directory, or two share a name
     */
    public static AdapterDirectories ship(SparkContext context, Map<String, Path> dirs) {
        LinkedHashMap<String, String> locations = new LinkedHashMap<>();
        Set<String> fileNames = new HashSet<>();
        for (Map.Entry<String, Path> e : dirs.entrySet()) {
            Path dir = e.getValue().toAbsolutePath().normalize();
            if (!Files.isRegularFile(dir.resolve("adapter_config.json"))) {
                throw new IllegalArgumentException("adapter '" + e.getKey() + "': " + dir
                        + " is not an adapter directory (no adapter_config.json)");
            }
            String fileName = dir.getFileName().toString();
            if (!fileNames.add(fileName)) {
                throw new IllegalArgumentException("adapter '" + e.getKey() + "': another shipped directory is also"
                        + " named '" + fileName + "'; Spark keeps shipped files by their last path element");
            }
            context.addFile(dir.toUri().toString(), true);
            locations.put(checkName(e.getKey()), fileName);
        }
        return new AdapterDirectories(locations, true);
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
     * The directory of adapter {@code name} in this JVM (on an executor, where Spark fetched it).
     *
     * @param name an adapter name from {@link #names()}
     * @return its directory
     */
    public Path resolve(String name) {
        String location = locations.get(name);
        if (location == null) {
            throw new IllegalArgumentException("no adapter directory named '" + name + "' (known: " + names() + ")");
        }
        return shipped ? Path.of(SparkFiles.get(location)) : Path.of(location);
    }

    @Override
    public String toString() {
        return (shipped ? "shipped " : "shared ") + locations;
    }
}

package io.peft4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.config.PeftMethod;
import io.peft4j.config.PeftMethods;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layering of core's packages, read from the import lines of {@code src/main/java}: generic packages ask a method
 * through {@link PeftMethod} and never import a method package, and no two packages import each other in a cycle.
 */
class PackageRulesTest {

    private static final Path SOURCES = Path.of("src/main/java/io/peft4j");
    /** Method packages known by name (the shared before-stop check greps the same list), besides the registered. */
    private static final Set<String> KNOWN_METHODS = Set.of("lora", "ia3", "adalora", "dora", "loha", "lokr", "oft");
    private static final Pattern IMPORT =
            Pattern.compile("^import (?:static )?io\\.peft4j\\.(?:method\\.)?([a-z0-9]+)\\.", Pattern.MULTILINE);

    /** The packages of the registered methods. */
    private static Set<String> methodPackages() {
        Set<String> packages = new TreeSet<>(KNOWN_METHODS);
        for (PeftMethod method : PeftMethods.all()) {
            String name = method.getClass().getPackageName();
            packages.add(name.substring(name.lastIndexOf('.') + 1));
        }
        return packages;
    }

    /** Sub-package of io.peft4j to the sub-packages its sources import. */
    private static Map<String, Set<String>> imports() throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> dirs = Files.list(SOURCES)) {
            for (Path dir : dirs.filter(Files::isDirectory).collect(Collectors.toList())) {
                String pkg = dir.getFileName().toString();
                Set<String> deps = new TreeSet<>();
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path file : files.filter(f -> f.toString().endsWith(".java")).collect(Collectors.toList())) {
                        Matcher m = IMPORT.matcher(Files.readString(file, StandardCharsets.UTF_8));
                        while (m.find()) {
                            if (!m.group(1).equals(pkg)) {
                                deps.add(m.group(1));
                            }
                        }
                    }
                }
                graph.put(pkg, deps);
            }
        }
        return graph;
    }

    @Test
    void genericPackagesImportNoMethodPackage() throws IOException {
        Set<String> methods = methodPackages();
        Map<String, Set<String>> graph = imports();
        List<String> generic = List.of("config", "tuner", "state", "match", "model", "io", "instrument");
        assertTrue(graph.keySet().containsAll(generic),
                "sources not found under " + SOURCES.toAbsolutePath() + ": " + graph.keySet());
        List<String> violations = new ArrayList<>();
        graph.forEach((pkg, deps) -> {
            if (!methods.contains(pkg)) {
                for (String dep : deps) {
                    if (methods.contains(dep)) {
                        violations.add(pkg + " imports method package " + dep);
                    }
                }
            }
        });
        assertEquals(List.of(), violations, "generic packages must reach methods through PeftMethod");
    }

    @Test
    void everyMethodIsRegisteredFromItsOwnPackage() {
        Set<String> seen = new TreeSet<>();
        for (PeftMethod method : PeftMethods.all()) {
            String pkg = method.getClass().getPackageName();
            assertFalse(pkg.equals("io.peft4j") || pkg.startsWith("io.peft4j.config"), pkg);
            assertTrue(seen.add(pkg), "two methods in " + pkg);
        }
        assertEquals(Set.of("io.peft4j.lora", "io.peft4j.ia3", "io.peft4j.adalora"), seen);
    }

    @Test
    void packagesImportEachOtherWithoutCycles() throws IOException {
        Map<String, Set<String>> graph = imports();
        for (String start : graph.keySet()) {
            List<String> cycle = cycleFrom(start, start, graph, new ArrayList<>(List.of(start)), new TreeSet<>());
            assertEquals(List.of(), cycle, "package cycle");
        }
    }

    private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> graph, List<String> path,
            Set<String> visited) {
        for (String next : graph.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                return cycle;
            }
            if (visited.add(next)) {
                path.add(next);
                List<String> found = cycleFrom(start, next, graph, path, visited);
                if (!found.isEmpty()) {
                    return found;
                }
                path.remove(path.size() - 1);
            }
        }
        return List.of();
    }
}

package io.peft4j.agent.config;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resolution of the agent's options from arguments, system properties, environment and an options file. */
class AgentOptionsTest {

    @TempDir
    Path tmp;

    private static Properties props(String... keyValues) {
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        return p;
    }

    private static Map<String, String> env(String... keyValues) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private Path file(String text) throws IOException {
        Path f = tmp.resolve("conf/peft4j.properties");
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    @Test
    void preloadTakesAdapterDirectoriesUnderAdapterRoot() throws IOException {
        Path root = tmp.resolve("root");
        for (String name : List.of("b", "a", "c")) {
            Files.createDirectories(root.resolve(name));
            Files.writeString(root.resolve(name).resolve("adapter_config.json"), "{}");
        }
        Files.createDirectories(root.resolve("not-an-adapter"));
        AgentOptions all = AgentOptions.resolve("adapterRoot=" + root + ",preload=all,adapter.b=/elsewhere",
                props(), env());
        assertEquals(List.of("b", "a", "c"), List.copyOf(all.adapters().keySet()));
        assertEquals(Path.of("/elsewhere"), all.adapters().get("b"), "a configured adapter keeps its directory");
        assertEquals(root.resolve("a"), all.adapters().get("a"));
        AgentOptions some = AgentOptions.resolve("adapterRoot=" + root + ",preload=c+a", props(), env());
        assertEquals(List.of("c", "a"), List.copyOf(some.adapters().keySet()));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("adapterRoot=" + root + ",preload=a+zz", props(), env()));
        assertEquals("option preload names adapter 'zz', but " + root.resolve("zz").resolve("adapter_config.json")
                + " does not exist (agent argument preload)", missing.getMessage());
        IllegalArgumentException noRoot = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("preload=all", props(), env()));
        assertEquals("option preload needs adapterRoot (agent argument preload)", noRoot.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("unknownAdapter=skip", props(), env()));
        assertEquals("option unknownAdapter must be fail or base, not 'skip' (agent argument unknownAdapter)",
                unknown.getMessage());
        assertEquals("adapter", AgentOptions.resolve(null, props(), env()).requestAdapterProperty());
    }

    @Test
    void mklCodePathsIsVendorByDefaultAndTakesOnlyItsTwoWords() {
        assertFalse(AgentOptions.resolve(null, props(), env()).mklByFeatures());
        assertTrue(AgentOptions.resolve("mklCodePaths=Features", props(), env()).mklByFeatures());
        assertTrue(AgentOptions.resolve(null, props(), env("PEFT4J_MKL_CODE_PATHS", "features")).mklByFeatures());
        assertFalse(AgentOptions.resolve("mklCodePaths=vendor", props(), env()).mklByFeatures());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("mklCodePaths=intel", props(), env()));
        assertEquals("option mklCodePaths must be vendor or features, not 'intel' (agent argument mklCodePaths)",
                wrong.getMessage());
    }

    @Test
    void defaults() {
        AgentOptions o = AgentOptions.resolve(null, props(), env());
        assertAll(() -> assertTrue(o.enabled()), () -> assertTrue(o.failOnError()), () -> assertTrue(o.jmx()),
                () -> assertFalse(o.merge()), () -> assertFalse(o.debug()), () -> assertNull(o.adapterRoot()),
                () -> assertNull(o.dumpDir()), () -> assertNull(o.saveDir()), () -> assertNull(o.active()),
                () -> assertEquals(Map.of(), o.adapters()), () -> assertEquals("default", o.source("onError")),
                () -> assertEquals("defaults only", o.describe()));
    }

    @Test
    void argumentsBeatPropertiesBeatEnvironmentBeatFileBeatDefaults() throws IOException {
        Path f = file("onError=warn\nmerge=true\njmx=false\ndebug=true\nname=fromfile\n");
        AgentOptions o = AgentOptions.resolve("onError=fail", props("peft4j.merge", "false", "peft4j.jmx", "true"),
                env("PEFT4J_JMX", "false", "PEFT4J_DEBUG", "false", "PEFT4J_CONFIG", f.toString()));
        assertAll(() -> assertTrue(o.failOnError()), () -> assertEquals("agent argument onError", o.source("onError")),
                () -> assertFalse(o.merge()), () -> assertEquals("system property peft4j.merge", o.source("merge")),
                () -> assertTrue(o.jmx()), () -> assertFalse(o.debug()),
                () -> assertEquals("environment variable PEFT4J_DEBUG", o.source("debug")),
                () -> assertEquals("fromfile", o.value("name")),
                () -> assertEquals("options file " + f.toAbsolutePath(), o.source("name")));
    }

    @Test
    void environmentVariablesAreUpperSnakeCaseAndNamedAdaptersUseADoubleUnderscore() {
        AgentOptions o = AgentOptions.resolve(null, props(), env("PEFT4J_ADAPTER", "/a", "PEFT4J_ADAPTER__other",
                "/b", "PEFT4J_ON_ERROR", "warn", "PEFT4J_ADAPTER_ROOT", "/root", "PEFT4J_DUMP_DIR", "/dumps",
                "PEFT4J_ACTIVE", "default+other", "OTHER_VAR", "x"));
        assertAll(() -> assertEquals(Map.of("default", Path.of("/a"), "other", Path.of("/b")), o.adapters()),
                () -> assertFalse(o.failOnError()), () -> assertEquals(Path.of("/root"), o.adapterRoot()),
                () -> assertEquals(Path.of("/dumps"), o.dumpDir()),
                () -> assertEquals(List.of("default", "other"), o.active()));
        assertEquals("PEFT4J_ON_ERROR", OptionKey.ON_ERROR.envVar());
        assertEquals("PEFT4J_ADAPTER_ROOT", OptionKey.ADAPTER_ROOT.envVar());
        assertEquals("PEFT4J_ADAPTER__NAME", OptionKey.ADAPTER_NAMED.envVar());
        assertEquals("adapter.x", OptionKey.keyOfEnvVar("PEFT4J_ADAPTER__x"));
    }

    @Test
    void unknownKeysAreErrorsNamingTheirSource() throws IOException {
        IllegalArgumentException arg = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("adaptr=/x", props(), env()));
        IllegalArgumentException prop = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve(null, props("peft4j.onerror", "warn"), env()));
        IllegalArgumentException var = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve(null, props(), env("PEFT4J_ONERROR", "warn")));
        Path f = file("dumpdir=/x\n");
        IllegalArgumentException inFile = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve("config=" + f, props(), env()));
        assertAll(() -> assertTrue(arg.getMessage().startsWith("unknown option in agent argument adaptr (did you mean"
                + " 'adapter'?) (keys: [adapter, name, "), arg.getMessage()),
                () -> assertTrue(var.getMessage().startsWith("unknown environment variable PEFT4J_ONERROR (did you"
                        + " mean 'PEFT4J_ON_ERROR'?)"), var.getMessage()),
                () -> assertTrue(prop.getMessage().contains("system property peft4j.onerror"), prop.getMessage()),
                () -> assertTrue(var.getMessage().contains("environment variable PEFT4J_ONERROR"), var.getMessage()),
                () -> assertTrue(inFile.getMessage().contains(f.toAbsolutePath() + ": key dumpdir"),
                        inFile.getMessage()));
        AgentOptions internal = AgentOptions.resolve(null, props("peft4j.internal.started", "x"), env());
        assertTrue(internal.enabled());
    }

    @Test
    void malformedValuesAreErrorsNamingKeyAndSource() {
        assertAll(
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve("onError=maybe", props(), env())).getMessage()
                        .contains("onError must be fail or warn, not 'maybe' (agent argument onError)")),
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve(null, props("peft4j.jmx", "yes"), env())).getMessage()
                        .contains("jmx must be true or false, not 'yes' (system property peft4j.jmx)")),
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve("adapter=/a,active=b", props(), env())).getMessage()
                        .contains("active names adapter 'b'")),
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve("adapter", props(), env())).getMessage()
                        .contains("'adapter' is not key=value")),
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve("merge=true,merge=false", props(), env())).getMessage()
                        .contains("merge is given twice")),
                () -> assertTrue(assertThrows(IllegalArgumentException.class,
                        () -> AgentOptions.resolve("adapter=/a,adapter.default=/b", props(), env()))
                        .getMessage().contains("'default' is given twice")));
    }

    @Test
    void anOptionsFileResolvesRelativePathsAgainstItsDirectory() throws IOException {
        Path f = file("adapter = adapters/b1\nadapter.other=/abs/other\ndumpDir=dumps\nonError=warn\n");
        AgentOptions o = AgentOptions.resolve(null, props("peft4j.config", f.toString()), env());
        Path dir = f.toAbsolutePath().getParent();
        assertAll(() -> assertEquals(dir.resolve("adapters/b1"), o.adapters().get("default")),
                () -> assertEquals(Path.of("/abs/other"), o.adapters().get("other")),
                () -> assertEquals(dir.resolve("dumps"), o.dumpDir()), () -> assertFalse(o.failOnError()));
    }

    @Test
    void aMissingOptionsFileOrConfigInsideItAreErrors() throws IOException {
        Path missing = tmp.resolve("nope.properties");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.resolve(null, props(), env("PEFT4J_CONFIG", missing.toString())));
        assertTrue(e.getMessage().contains(missing.toAbsolutePath() + " (environment variable PEFT4J_CONFIG)"),
                e.getMessage());
        Path f = file("config=/other\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AgentOptions.resolve("config=" + f, props(),
                env())).getMessage().contains("key config is not allowed"));
    }

    @Test
    void aDumpDirThatIsAFileIsAnError() throws IOException {
        Path f = Files.writeString(tmp.resolve("plain-file"), "x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AgentOptions.resolve("dumpDir=" + f, props(),
                env())).getMessage().contains("is not a directory"));
    }

    @Test
    void onErrorIsReadLenientlyWhenTheOptionsAreBroken() {
        assertAll(() -> assertTrue(AgentOptions.failOnErrorLeniently("foo=1", props(), env())),
                () -> assertFalse(AgentOptions.failOnErrorLeniently("foo=1,onError=warn", props(), env())),
                () -> assertFalse(AgentOptions.failOnErrorLeniently(null, props("peft4j.onError", "warn"), env())),
                () -> assertFalse(AgentOptions.failOnErrorLeniently(null, props(), env("PEFT4J_ON_ERROR", "WARN"))));
    }

    @Test
    void splitNames() {
        assertAll(() -> assertEquals(List.of("a", "b"), AgentOptions.splitNames(" a + b ")),
                () -> assertNull(AgentOptions.splitNames(" ")), () -> assertNull(AgentOptions.splitNames("+")));
    }
}

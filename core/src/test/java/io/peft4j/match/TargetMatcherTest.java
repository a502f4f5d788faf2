package io.peft4j.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adalora.AdaLoraConfig;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.GoldenFiles;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.TargetModules;
import io.peft4j.ia3.IA3Config;
import io.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TargetMatcherTest {

    /** named_modules() of the golden MLP: fc1=Linear -> relu1 -> fc2=Linear -> relu2 -> head=Linear. */
    private static final List<String> MLP = List.of("", "fc1", "relu1", "fc2", "relu2", "head");

    private static String peftError(String name) {
        return GoldenFiles.json("f2_errors/errors.json").get(name).get("error").get("message").textValue();
    }

    /** Walks the modules as PEFT's inject_adapter does and returns the error it would raise, or null. */
    private static String injectionError(AdapterConfig config, List<String> modules) {
        boolean targeted = false;
        boolean excluded = false;
        boolean unmatched = false;
        for (String key : modules) {
            if (key.isEmpty()) {
                continue;
            }
            MatchResult result = TargetMatcher.classify(config, key);
            targeted |= result == MatchResult.TARGETED;
            excluded |= result == MatchResult.EXCLUDED;
            unmatched |= result == MatchResult.UNMATCHED;
        }
        return targeted ? null : TargetMatcher.noMatchMessage(config, excluded, unmatched);
    }

    // ------------------------------------------------------------ f2_errors/errors.json

    @Test
    void loraListNoMatch() {
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("does_not_exist")).build();
        assertEquals(peftError("lora_list_no_match"), injectionError(config, MLP));
        assertEquals(peftError("lora_list_no_match"), TargetMatcher.targetsNotFoundMessage(config));
    }

    @Test
    void onlyTargetsNotFoundHasItsOwnType() {
        LoraConfig notFound = LoraConfig.builder().targetModules(List.of("does_not_exist")).build();
        PeftConfigException e = TargetMatcher.noMatch(notFound, false, true, List.of("fc1"));
        assertTrue(e instanceof TargetsNotFoundException);
        assertEquals(TargetMatcher.targetsNotFoundMessage(notFound), e.peftMessage());
        assertTrue(e.getMessage().startsWith(TargetMatcher.targetsNotFoundMessage(notFound) + " "), e.getMessage());
        LoraConfig excluded = LoraConfig.builder().targetModules(List.of("fc1")).excludeModules(List.of("fc1"))
                .build();
        assertFalse(TargetMatcher.noMatch(excluded, true, false, List.of()) instanceof TargetsNotFoundException);
        LoraConfig empty = LoraConfig.builder().targetModules(List.of()).build();
        assertFalse(TargetMatcher.noMatch(empty, false, true, List.of()) instanceof TargetsNotFoundException);
        LoraConfig dummy = LoraConfig.builder().targetModules(TargetMatcher.DUMMY_TARGET_MODULES).build();
        assertEquals(null, TargetMatcher.noMatch(dummy, false, true, List.of("fc1")));
    }

    @Test
    void targetsNotFoundNamesTheNearestLeafPathsAndHowToPrintThemAll() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc9")).build();
        List<String> leaves = List.of("head", "encoder.0.fc1", "dropout_layer", "encoder.0.fc2", "act",
                "encoder.1.fc1", "encoder.1.norm");
        PeftConfigException e = TargetMatcher.noMatch(config, false, true, leaves);
        assertEquals("Target modules {'fc9'} not found in the base model. Please check the target modules and try "
                + "again. The model's module paths nearest to it: 'encoder.0.fc1', 'encoder.0.fc2', "
                + "'encoder.1.fc1', 'act', 'head' (5 of 7 leaf modules; " + TargetMatcher.ALL_PATHS_HINT + ").",
                e.getMessage());
        LoraConfig regex = LoraConfig.builder().targetModules(".*\\.q_proj").build();
        assertTrue(TargetMatcher.noMatch(regex, false, true, List.of("a.k_proj", "b")).getMessage()
                .contains("nearest to it: 'a.k_proj', 'b' (2 of 2 leaf modules;"));
    }

    @Test
    void loraRegexNoMatch() {
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules(".*nothing.*").build();
        assertEquals(peftError("lora_regex_no_match"), injectionError(config, MLP));
    }

    @Test
    void loraRegexMustMatchTheWholeName() {
        LoraConfig config = LoraConfig.builder().r(4).loraAlpha(8).targetModules("fc").build();
        assertFalse(TargetMatcher.isTargeted(config, "fc1"));
        assertEquals(peftError("lora_regex_partial_no_fullmatch"), injectionError(config, MLP));
    }

    @Test
    void ia3ListNoMatch() {
        IA3Config config = IA3Config.builder().targetModules(List.of("does_not_exist"))
                .feedforwardModules(List.of()).build();
        assertEquals(peftError("ia3_list_no_match"), injectionError(config, MLP));
    }

    @Test
    void adaloraListNoMatch() {
        AdaLoraConfig config = AdaLoraConfig.adaLoraBuilder().initR(6).targetR(4).totalStep(100)
                .targetModules(List.of("does_not_exist")).build();
        assertEquals(peftError("adalora_list_no_match"), injectionError(config, MLP));
    }

    // ------------------------------------------------------------ the other no-match messages

    @Test
    void allExcluded() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1", "fc2"))
                .excludeModules(List.of("fc1", "fc2")).build();
        assertEquals("All modules were excluded. This is likely unintended. Check your `target_modules`, "
                + "`exclude_modules` and `modules_to_save` configuration.",
                injectionError(config, List.of("", "fc1", "fc2")));
    }

    @Test
    void excludedAndUnmatchedWithLayerNotes() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1")).excludeModules(".*fc1")
                .layersToTransform(List.of(0, 1)).layersPattern("layers").build();
        assertEquals("No modules were targeted for adaptation. This might be caused by a combination of mismatched "
                + "target modules and excluded modules. Please check your `target_modules` and `exclude_modules` "
                + "configuration. You may also have only targeted modules that are marked to be saved "
                + "(`modules_to_save`). Note: You specified 'layers_to_transform': [0, 1]. You also specified "
                + "'layers_pattern': layers.", injectionError(config, MLP));
    }

    @Test
    void layerFilteredModulesAreUnmatchedWithNotes() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1")).layersToTransform(5)
                .layersPattern(List.of("layers")).build();
        List<String> modules = List.of("", "model", "model.layers", "model.layers.0", "model.layers.0.fc1");
        assertEquals("Target modules {'fc1'} not found in the base model. Please check the target modules and try "
                + "again. Note: You specified 'layers_to_transform': 5. You also specified 'layers_pattern': "
                + "['layers'].", injectionError(config, modules));
    }

    @Test
    void emptyTargetModules() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of()).build();
        assertEquals("No `target_modules` passed but also no `target_parameters` found. Please check the values "
                + "for these arguments.", injectionError(config, MLP));
    }

    @Test
    void dummyTargetModulesRaiseNothing() {
        LoraConfig config = LoraConfig.builder().targetModules(TargetMatcher.DUMMY_TARGET_MODULES).build();
        assertNull(injectionError(config, MLP));
    }

    @Test
    void unusedExcludeWarning() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1")).excludeModules(List.of("x")).build();
        assertEquals("You have passed exclude_modules={'x'} but no modules were excluded. Please check that "
                + "exclude_modules was set correctly.", TargetMatcher.unusedExcludeModulesWarning(config));
    }

    // ------------------------------------------------------------ exclusion

    @Test
    void excludeModulesListMatchesNameOrDottedSuffix() {
        LoraConfig config = LoraConfig.builder().targetModules(".*").excludeModules(List.of("fc1")).build();
        assertTrue(TargetMatcher.isExcluded(config, "fc1"));
        assertTrue(TargetMatcher.isExcluded(config, "model.fc1"));
        assertFalse(TargetMatcher.isExcluded(config, "model.xfc1"));
        assertFalse(TargetMatcher.isTargeted(config, "model.fc1"));
        assertTrue(TargetMatcher.isTargeted(config, "model.fc2"));
        assertEquals(MatchResult.EXCLUDED, TargetMatcher.classify(config, "fc1"));
    }

    @Test
    void excludeModulesRegexMustMatchTheWholeName() {
        LoraConfig config = LoraConfig.builder().targetModules(List.of("q", "v")).excludeModules(".*\\.0\\..*")
                .build();
        assertTrue(TargetMatcher.isExcluded(config, "layers.0.q"));
        assertFalse(TargetMatcher.isExcluded(config, "layers.10.q"));
        assertTrue(TargetMatcher.isTargeted(config, "layers.10.q"));
        LoraConfig empty = LoraConfig.builder().targetModules(List.of("q")).excludeModules(List.of()).build();
        assertFalse(TargetMatcher.isExcluded(empty, "q"), "an empty exclude list excludes nothing");
    }

    @Test
    void modulesToSaveAndTheirChildrenAreExcluded() {
        LoraConfig config = LoraConfig.builder().targetModules(".*").modulesToSave(List.of("head")).build();
        assertTrue(TargetMatcher.isExcluded(config, "head"));
        assertTrue(TargetMatcher.isExcluded(config, "model.head"));
        assertTrue(TargetMatcher.isExcluded(config, "model.head.dense"));
        assertFalse(TargetMatcher.isExcluded(config, "model.header"));
        assertFalse(TargetMatcher.isExcluded(config, "lm_head"));
    }

    // ------------------------------------------------------------ get_pattern_key

    @Test
    void findPatternKeyTakesTheFirstMatchingKey() {
        assertEquals("fc1", TargetMatcher.findPatternKey(List.of("fc1", "layers.0.fc1"), "model.layers.0.fc1"));
        assertEquals("layers.0.fc1",
                TargetMatcher.findPatternKey(List.of("layers.0.fc1", "fc1"), "model.layers.0.fc1"));
        assertEquals("fc1", TargetMatcher.findPatternKey(List.of("layers.1.fc1", "fc1"), "model.layers.0.fc1"));
        assertEquals("fc1", TargetMatcher.findPatternKey(List.of("fc1"), "fc1"));
    }

    @Test
    void findPatternKeyNeedsAWholeDottedSuffix() {
        assertNull(TargetMatcher.findPatternKey(List.of("c1"), "model.fc1"));
        assertNull(TargetMatcher.findPatternKey(List.of("fc1"), "model.fc1.base"));
        assertNull(TargetMatcher.findPatternKey(List.of(), "fc1"));
    }

    @Test
    void findPatternKeyTreatsKeysAsRegexes() {
        assertEquals("layers.0.fc1", TargetMatcher.findPatternKey(List.of("layers.0.fc1"), "layers_0_fc1"));
        assertEquals("layers\\.\\d+\\.fc1",
                TargetMatcher.findPatternKey(List.of("layers\\.\\d+\\.fc1"), "model.layers.12.fc1"));
        assertEquals("q|v", TargetMatcher.findPatternKey(List.of("q|v"), "attn.v"));
    }

    // ------------------------------------------------------------ layer filtering details

    @Test
    void layerIndexIsTheFirstNumberedSegment() {
        TargetModules targets = TargetModules.ofNames(List.of("up_proj"));
        String expert = "model.layers.1.mlp.experts.0.up_proj";
        assertTrue(TargetMatcher.matches(targets, List.of(1), null, expert));
        assertFalse(TargetMatcher.matches(targets, List.of(0), null, expert));
        assertTrue(TargetMatcher.matches(targets, List.of(1), List.of("layers"), expert));
        assertFalse(TargetMatcher.matches(targets, List.of(0), List.of("layers"), expert));
        assertTrue(TargetMatcher.matches(targets, List.of(0), List.of("experts"), expert));
    }

    @Test
    void exactNameSkipsTheLayerFilter() {
        // PEFT only applies layers_to_transform in its ".name" suffix branch
        TargetModules targets = TargetModules.ofNames(List.of("layers.3.fc1"));
        assertTrue(TargetMatcher.matches(targets, List.of(0), null, "layers.3.fc1"));
        assertFalse(TargetMatcher.matches(targets, List.of(0), null, "model.layers.3.fc1"));
        assertTrue(TargetMatcher.matches(targets, List.of(), null, "model.layers.3.fc1"), "empty list: no filter");
        assertTrue(TargetMatcher.matches(TargetModules.ofNames(List.of("fc1")), List.of(3), List.of("h", "model"),
                "x.model.3.layers.7.fc1"), "the first pattern that finds an index wins");
    }

    @Test
    void allLinearMustBeExpandedFirst() {
        LoraConfig config = LoraConfig.builder().targetModules("all-linear").build();
        assertThrows(IllegalArgumentException.class, () -> TargetMatcher.isTargeted(config, "fc1"));
        LoraConfig expanded = config.withTargetModules(TargetModules.ofNames(List.of("fc1", "fc2", "head")));
        assertTrue(TargetMatcher.isTargeted(expanded, "head"));
        assertFalse(TargetMatcher.isTargeted(expanded, "relu1"));
    }

    @Test
    void nullTargetModulesMatchNothing() {
        LoraConfig config = LoraConfig.builder().build();
        assertFalse(TargetMatcher.isTargeted(config, "fc1"));
        assertEquals("Target modules None not found in the base model. Please check the target modules and try "
                + "again.", TargetMatcher.targetsNotFoundMessage(config));
    }

    @ParameterizedTest
    @ValueSource(strings = {"(", "[a", "a)"})
    void invalidRegexNamesTheField(String regex) {
        LoraConfig config = LoraConfig.builder().targetModules(regex).build();
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> TargetMatcher.isTargeted(config, "fc1"));
        assertEquals("target_modules", e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith("field \"target_modules\": invalid regular expression: "), e.getMessage());
    }

    @Test
    void anInvalidExcludeModulesRegexIsAConfigErrorNamingTheField() {
        // found by HostileAdapterFilesTest's config mutants: it was an IllegalArgumentException
        LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1")).excludeModules("fc[").build();
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> TargetMatcher.isTargeted(config, "fc1"));
        assertEquals("field \"exclude_modules\": invalid regular expression: unterminated character set in 'fc['",
                e.getMessage());
    }

    // ------------------------------------------------------------ IA3 feedforward

    @Test
    void feedforwardUsesAPlainSuffix() {
        IA3Config config = IA3Config.builder().targetModules(List.of("fc1", "fc2"))
                .feedforwardModules(List.of("fc2")).build();
        assertTrue(TargetMatcher.isFeedforward(config.feedforwardModules(), "fc2"));
        assertTrue(TargetMatcher.isFeedforward(config.feedforwardModules(), "model.xfc2"),
                "no '.' boundary, as in PEFT");
        assertFalse(TargetMatcher.isFeedforward(config.feedforwardModules(), "fc1"));
        IA3Config regex = IA3Config.builder().targetModules(".*").feedforwardModules("fc.").build();
        assertTrue(TargetMatcher.isFeedforward(regex.feedforwardModules(), "fc2"));
        assertFalse(TargetMatcher.isFeedforward(regex.feedforwardModules(), "model.fc2"));
    }

    // ------------------------------------------------------------ the golden cases

    /** Top-level module names as printed in model_repr.txt ("  (fc1): lora.Linear(" and so on). */
    private static List<String> modules(String caseDir) throws IOException {
        List<String> names = new ArrayList<>();
        names.add("");
        Matcher m = Pattern.compile("(?m)^  \\(([^)]+)\\):").matcher(
                Files.readString(GoldenFiles.dir().resolve(caseDir).resolve("model_repr.txt")));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static Set<String> targeted(AdapterConfig config, List<String> modules) {
        Set<String> out = new TreeSet<>();
        for (String key : modules) {
            if (!key.isEmpty() && TargetMatcher.isTargeted(config, key)) {
                out.add(key);
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"a_lora_dummy", "b1_lora_mlp", "b2_lora_mlp_rslora", "b3_lora_mlp_bias_all",
        "b4_lora_mlp_bias_lora_only", "b5_lora_mlp_rank_alpha_pattern", "b6_lora_mlp_modules_to_save",
        "c1_lora_embedding", "c2_lora_conv2d", "d_ia3_mlp", "e_adalora_mlp", "f1_lora_mlp_regex"})
    void targetsTheModulesPeftAdapted(String caseDir) throws IOException {
        AdapterConfig config = AdapterConfigs.read(GoldenFiles.dir().resolve(caseDir));
        JsonNode tunerLayers = GoldenFiles.json(caseDir + "/case.json").get("tuner_layers");
        Set<String> expected = new TreeSet<>();
        tunerLayers.fieldNames().forEachRemaining(expected::add);
        assertEquals(expected, targeted(config, modules(caseDir)));
    }

    @Test
    void twoAdaptersTargetWhatPeftAdapted() throws IOException {
        JsonNode perAdapter = GoldenFiles.json("g_two_adapters/case.json").get("state_dict_keys_per_adapter");
        for (String adapter : List.of("default", "other")) {
            AdapterConfig config = AdapterConfigs.read(GoldenFiles.dir().resolve("g_two_adapters").resolve(adapter));
            Set<String> expected = new LinkedHashSet<>();
            perAdapter.get(adapter).forEach(k -> expected.add(k.textValue().replaceAll("\\.lora_[AB]\\.weight$", "")));
            assertEquals(new TreeSet<>(expected), targeted(config, modules("g_two_adapters")), adapter);
        }
    }

    @Test
    void goldenIa3FeedforwardIsFc2() {
        IA3Config config = (IA3Config) AdapterConfigs.read(GoldenFiles.dir().resolve("d_ia3_mlp"));
        assertTrue(TargetMatcher.isFeedforward(config.feedforwardModules(), "fc2"));
        assertFalse(TargetMatcher.isFeedforward(config.feedforwardModules(), "fc1"));
    }

    @Test
    void goldenRankPatternKeysResolve() {
        LoraConfig config = (LoraConfig) AdapterConfigs.read(
                GoldenFiles.dir().resolve("b5_lora_mlp_rank_alpha_pattern"));
        // case.json notes: rank_pattern fc2 -> r=2; alpha_pattern fc1 -> alpha=16
        assertEquals("fc2", TargetMatcher.findPatternKey(config.rankPattern().keySet(), "fc2"));
        assertNull(TargetMatcher.findPatternKey(config.rankPattern().keySet(), "fc1"));
        assertEquals("fc1", TargetMatcher.findPatternKey(config.alphaPattern().keySet(), "fc1"));
        assertNull(TargetMatcher.findPatternKey(config.alphaPattern().keySet(), "fc2"));
    }
}

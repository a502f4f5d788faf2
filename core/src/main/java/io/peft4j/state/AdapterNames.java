package io.peft4j.state;

import java.util.Collection;

/**
 * PEFT 0.20's rules for the adapter name inside state-dict keys ({@code peft.utils.save_and_load}), for every method
 * through its parameter prefix ({@code lora_}, {@code ia3_}, ...). They work on whole key segments, never on
 * substrings, so that an adapter called {@code de} is told from {@code default} and one called {@code lora} from the
 * {@code lora_} prefix.
 */
public final class AdapterNames {

    private AdapterNames() {}

    /**
     * Whether {@code key} belongs to one of {@code others} (PEFT's {@code _filter_state_dict_for_adapter_name}, which
     * drops such keys): it contains {@code ".<other>."} or ends with {@code ".<other>"}. Keys that name no adapter at
     * all (base biases, say) belong to none.
     */
    public static boolean belongsToAnother(String key, Collection<String> others) {
        for (String other : others) {
            if (key.contains("." + other + ".") || key.endsWith("." + other)) {
                return true;
            }
        }
        return false;
    }

    /**
     * PEFT's {@code remove_adapter_name}: the adapter name is the last segment of a bare parameter
     * ({@code fc1.ia3_l.default} becomes {@code fc1.ia3_l}) or the second-to-last of a module's parameter
     * ({@code fc1.lora_A.default.weight} becomes {@code fc1.lora_A.weight}); nothing else of the key changes.
     */
    public static String remove(String key, String adapter) {
        if (key.indexOf('.') < 0) {
            return key;
        }
        String tail = "." + adapter;
        if (key.endsWith(tail)) {
            return key.substring(0, key.length() - tail.length());
        }
        int dot = key.lastIndexOf('.');
        String head = key.substring(0, dot);
        String suffix = key.substring(dot + 1);
        if (head.endsWith(tail)) {
            head = head.substring(0, head.length() - tail.length());
        }
        return head + "." + suffix;
    }

    /**
     * PEFT's {@code _insert_adapter_name_into_state_dict} for one key: after the last occurrence of the method's
     * {@code prefix}, the adapter name goes before what follows the first dot ({@code fc1.lora_A.weight} becomes
     * {@code fc1.lora_A.<adapter>.weight}), or at the end when no dot follows ({@code fc1.ia3_l} becomes
     * {@code fc1.ia3_l.<adapter>}). Keys without the prefix are returned unchanged.
     */
    public static String insert(String key, String adapter, String prefix) {
        int at = key.lastIndexOf(prefix);
        if (at < 0) {
            return key;
        }
        String suffix = key.substring(at + prefix.length());
        int dot = suffix.indexOf('.');
        if (dot < 0) {
            return key + "." + adapter;
        }
        String toReplace = suffix.substring(dot + 1);
        // re.sub(re.escape(toReplace) + "$", ...): only the occurrence that ends the key is replaced.
        return key.substring(0, key.length() - toReplace.length()) + adapter + "." + toReplace;
    }
}

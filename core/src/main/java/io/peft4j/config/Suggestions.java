package io.peft4j.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * "Did you mean" suggestions by edit distance, for every name a user types: config keys ({@code target_module} for
 * {@code target_modules}), agent options ({@code onEror} for {@code onError}) and module paths in a no-match error
 * ({@code fc9} near {@code fc1}, {@code fc2}). The one place such suggestions are made, so that they read the same
 * everywhere.
 *
 * <p>The distance is Levenshtein's (insert, delete, substitute one character), case-insensitive. A name is
 * suggested when its distance is at most a third of the longer word (at least 1, at most 3): close enough to be a
 * typo, far enough not to suggest {@code r} for {@code bias}.
 */
public final class Suggestions {

    private Suggestions() {}

    /** Levenshtein distance between {@code a} and {@code b}, ignoring case. */
    public static int distance(String a, String b) {
        String s = a.toLowerCase(Locale.ROOT);
        String t = b.toLowerCase(Locale.ROOT);
        int[] previous = new int[t.length() + 1];
        int[] current = new int[t.length() + 1];
        for (int j = 0; j <= t.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= s.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= t.length(); j++) {
                int substitute = previous[j - 1] + (s.charAt(i - 1) == t.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[t.length()];
    }

    /**
     * The candidates close enough to {@code word} to be what was meant, nearest first (ties in the candidates'
     * order); empty when none is close.
     */
    public static List<String> close(String word, Collection<String> candidates) {
        List<String> out = new ArrayList<>();
        for (String c : new LinkedHashSet<>(candidates)) {
            int limit = Math.min(3, Math.max(1, Math.max(word.length(), c.length()) / 3));
            if (!c.equals(word) && distance(word, c) <= limit) {
                out.add(c);
            }
        }
        out.sort(Comparator.comparingInt(c -> distance(word, c)));
        return out;
    }

    /**
     * {@code " (did you mean 'target_modules'?)"} for the closest candidate, or {@code ""} when none is close.
     */
    public static String didYouMean(String word, Collection<String> candidates) {
        List<String> close = close(word, candidates);
        return close.isEmpty() ? "" : " (did you mean '" + close.get(0) + "'?)";
    }

    /**
     * The {@code max} candidates nearest to any of {@code words}, however far: for lists such as "the module paths
     * nearest to 'fc9'". Ranked by the distance of a word to the candidate's best-matching dotted suffix (so
     * {@code fc9} is near {@code encoder.0.fc1}), then by the distance to the whole candidate, then in the
     * candidates' order.
     */
    public static List<String> nearest(Collection<String> words, Collection<String> candidates, int max) {
        List<String> all = new ArrayList<>(new LinkedHashSet<>(candidates));
        List<int[]> keys = new ArrayList<>();
        for (String c : all) {
            int suffix = Integer.MAX_VALUE;
            int whole = Integer.MAX_VALUE;
            for (String word : words) {
                suffix = Math.min(suffix, suffixDistance(word, c));
                whole = Math.min(whole, distance(word, c));
            }
            keys.add(new int[] {suffix, whole});
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingInt(i -> keys.get(i)[0]).thenComparingInt(i -> keys.get(i)[1])
                .thenComparingInt(i -> i));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(max, order.size()); i++) {
            out.add(all.get(order.get(i)));
        }
        return out;
    }

    /** The smallest distance between {@code word} and a suffix of {@code path} that starts after a dot. */
    private static int suffixDistance(String word, String path) {
        int best = distance(word, path);
        for (int dot = path.indexOf('.'); dot >= 0; dot = path.indexOf('.', dot + 1)) {
            best = Math.min(best, distance(word, path.substring(dot + 1)));
        }
        return best;
    }
}

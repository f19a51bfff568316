package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Every function of include/wsprune.h is declared in the binding and resolvable in the loaded library. */
class HeaderCoverageTest {
    /**
     * Declared ahead of the header (the C ABI is growing them in parallel, 0.3.0).
     * Once the header has one, its parameter count is checked like every other.
     */
    static final Set<String> PENDING = Set.of("wsprune_session_open", "wsprune_prune_result_unmet_target_count",
            "wsprune_prune_result_unmet_target", "wsprune_prune_result_interrupted_count",
            "wsprune_prune_result_interrupted_name");

    static Set<String> headerFunctions() throws Exception {
        String header = Files.readString(Path.of(System.getProperty("wsprune.header", "../../include/wsprune.h")));
        header = header.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
        Matcher m = Pattern.compile("\\b(wsprune_\\w+)\\s*\\(").matcher(header);
        Set<String> names = new TreeSet<>();
        while (m.find()) {
            // A typedef'd function pointer reads "(*wsprune_log_fn)(": its name is not followed by '('.
            names.add(m.group(1));
        }
        return names;
    }

    static Set<String> declared() {
        return Arrays.stream(LibWsPrune.class.getDeclaredMethods()).map(Method::getName)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void everyHeaderFunctionIsDeclared() throws Exception {
        Set<String> header = headerFunctions();
        assertTrue(header.size() >= 30, "parsed the header: " + header);
        Set<String> missing = new TreeSet<>(header);
        missing.removeAll(declared());
        assertEquals(Set.of(), missing, "declare these in LibWsPrune (and expose them in WsPrune)");
    }

    @Test
    void nothingIsDeclaredThatTheHeaderLacksExceptPending() throws Exception {
        Set<String> header = headerFunctions();
        Set<String> extra = new TreeSet<>(declared());
        extra.removeAll(header);
        extra.removeAll(PENDING);
        assertEquals(Set.of(), extra, "declared but not in the header");
    }

    @Test
    void parameterCountsMatchTheHeader() throws Exception {
        Map<String, Integer> header = headerArity();
        Set<String> wrong = new TreeSet<>();
        for (Method m : LibWsPrune.class.getDeclaredMethods()) {
            Integer n = header.get(m.getName());
            if (n != null && n != m.getParameterCount()) {
                wrong.add(m.getName() + ": header " + n + ", Java " + m.getParameterCount());
            }
        }
        assertEquals(Set.of(), wrong);
        assertEquals(5, header.get("wsprune_session_create"), "parsed the header: " + header);
        assertEquals(headerFunctions(), header.keySet(), "every prototype parsed");
    }

    /** Function name to number of parameters, from the header's prototypes. */
    static Map<String, Integer> headerArity() throws Exception {
        String header = Files.readString(Path.of(System.getProperty("wsprune.header", "../../include/wsprune.h")));
        header = header.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
        Matcher m = Pattern.compile("\\b(wsprune_\\w+)\\s*\\(([^()]*)\\)\\s*;").matcher(header);
        Map<String, Integer> arity = new java.util.TreeMap<>();
        while (m.find()) {
            String params = m.group(2).trim();
            arity.put(m.group(1), params.isEmpty() || params.equals("void") ? 0 : params.split(",").length);
        }
        return arity;
    }

    @Test
    void everyHeaderFunctionResolvesInTheLoadedLibrary() throws Exception {
        Set<String> unresolved = new TreeSet<>();
        for (String f : headerFunctions()) {
            if (!Lib.hasFunction(f)) {
                unresolved.add(f);
            }
        }
        assertEquals(Set.of(), unresolved, "the loaded library " + Lib.origin() + " lacks them");
    }

    /** JNA resolves a function at its first call, not at load: an older library still loads. */
    interface Future extends Library {
        String wsprune_version();

        int wsprune_function_from_the_future(int x);
    }

    @Test
    void aMissingFunctionFailsOnlyWhenCalled() {
        Future f = Native.load(Lib.origin(), Future.class, Map.of());
        assertEquals(WsPrune.version(), f.wsprune_version());
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> f.wsprune_function_from_the_future(1));
        assertTrue(e.getMessage().contains("wsprune_function_from_the_future"), e.getMessage());
        assertFalse(Lib.hasFunction("wsprune_function_from_the_future"));
        UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                () -> Lib.requireFunction("wsprune_function_from_the_future", "9.9.9"));
        assertTrue(u.getMessage().contains("wsprune_function_from_the_future")
                && u.getMessage().contains("9.9.9") && u.getMessage().contains(Lib.origin()), u.getMessage());
    }
}

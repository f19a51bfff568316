package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.jna.Library;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Every function of include/wsprune.h is declared in the binding and resolvable in the loaded library. */
class HeaderCoverageTest {
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
    void nothingIsDeclaredThatTheHeaderLacks() throws Exception {
        Set<String> header = headerFunctions();
        Set<String> extra = new TreeSet<>(declared());
        extra.removeAll(header);
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
            try {
                Lib.library().getFunction(f);
            } catch (UnsatisfiedLinkError e) {
                unresolved.add(f);
            }
        }
        assertEquals(Set.of(), unresolved, "the loaded library " + Lib.origin() + " lacks them");
        assertEquals(List.of(), Lib.missingFunctions(Lib.library(), LibWsPrune.class));
    }

    /** A binding newer than the library: what the load-time check finds missing. */
    interface Future extends Library {
        String wsprune_version();

        int wsprune_function_from_the_future(int x);

        int wsprune_another_one(int x);
    }

    @Test
    void theLoadCheckNamesEveryMissingFunction() {
        assertEquals(List.of("wsprune_another_one", "wsprune_function_from_the_future"),
                Lib.missingFunctions(Lib.library(), Future.class));
    }
}

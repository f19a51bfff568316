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

/** Every function of include/wsprune.h is declared in the binding, with its arity and types, and resolvable in the loaded library. */
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

    /**
     * The JNA types that declare a C type of the header (without {@code const},
     * {@code struct}, {@code enum} and names). A {@code char *} the library
     * fills is a {@code byte[]}, an owned one (to free) a {@code Pointer};
     * {@code bool} is a byte, and a {@code bool} out-parameter a one-byte array.
     */
    static Set<Class<?>> javaTypes(String cType, boolean result) {
        boolean isConst = cType.matches(".*\\bconst\\b.*");
        String t = cType.replaceAll("\\b(const|struct|enum)\\b", " ").replace("*", " * ").trim().replaceAll("\\s+", " ");
        switch (t) {
            case "void": return Set.of(void.class);
            case "int": case "int32_t": case "uint32_t": case "wsprune_status": case "wsprune_level": return Set.of(int.class);
            case "size_t": case "int64_t": case "uint64_t": return Set.of(long.class);
            case "double": return Set.of(double.class);
            case "bool": return Set.of(byte.class);
            case "char *":
                if (isConst) return Set.of(String.class);
                return result ? Set.of(com.sun.jna.Pointer.class) : Set.of(byte[].class, com.sun.jna.Pointer.class);
            case "bool *": return Set.of(byte[].class);
            case "int32_t *": return Set.of(com.sun.jna.ptr.IntByReference.class);
            case "size_t *": case "uint64_t *": return Set.of(com.sun.jna.ptr.LongByReference.class);
            case "wsprune_prune_options *": return Set.of(LibWsPrune.PruneOptionsStruct.class);
            case "wsprune_session_details *": return Set.of(LibWsPrune.SessionDetailsStruct.class);
            case "wsprune_session_options *": return Set.of(LibWsPrune.SessionOptionsStruct.class);
            case "wsprune_log_fn": return Set.of(LibWsPrune.LogFn.class);
            case "void *": case "wsprune_error *": case "wsprune_lease *": case "wsprune_prune_result *":
            case "wsprune_stats *":
                return Set.of(com.sun.jna.Pointer.class);
            case "char * *":
                // const char *const *: an array of strings the caller passes in.
                return isConst ? Set.of(com.sun.jna.Pointer.class) : Set.of(com.sun.jna.ptr.PointerByReference.class);
            case "wsprune_error * *": case "wsprune_lease * *":
                return Set.of(com.sun.jna.ptr.PointerByReference.class);
            default: throw new AssertionError("no JNA mapping for the C type '" + cType + "': add one to javaTypes");
        }
    }

    /** Function name to its result type and parameter types, from the header's prototypes. */
    static Map<String, List<String>> headerSignatures() throws Exception {
        String header = Files.readString(Path.of(System.getProperty("wsprune.header", "../../include/wsprune.h")));
        header = header.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
        Matcher m = Pattern.compile("(?m)^(?!typedef)([^;{}()#\\n]*?)\\b(wsprune_\\w+)\\s*\\(([^()]*)\\)\\s*;").matcher(header);
        Map<String, List<String>> out = new java.util.TreeMap<>();
        while (m.find()) {
            List<String> types = new java.util.ArrayList<>();
            types.add(m.group(1).trim());
            String params = m.group(3).trim();
            if (!params.isEmpty() && !params.equals("void")) {
                for (String p : params.split(",")) {
                    types.add(p.trim().replaceAll("\\w+$", "").trim());
                }
            }
            out.put(m.group(2), types);
        }
        return out;
    }

    @Test
    void everyDeclarationHasTheHeadersTypes() throws Exception {
        Map<String, List<String>> header = headerSignatures();
        assertEquals(List.of("const char *", "int"), header.get("wsprune_status_name"), "parsed the header");
        assertEquals(6, header.get("wsprune_session_create").size(), "parsed the header");
        Set<String> wrong = new TreeSet<>();
        for (Method m : LibWsPrune.class.getDeclaredMethods()) {
            List<String> h = header.get(m.getName());
            if (h == null || h.size() - 1 != m.getParameterCount()) {
                continue; // reported by the tests above
            }
            if (!javaTypes(h.get(0), true).contains(m.getReturnType())) {
                wrong.add(m.getName() + ": result " + h.get(0) + " declared " + m.getReturnType().getSimpleName());
            }
            Class<?>[] params = m.getParameterTypes();
            for (int i = 0; i < params.length; i++) {
                if (!javaTypes(h.get(i + 1), false).contains(params[i])) {
                    wrong.add(m.getName() + " #" + i + ": " + h.get(i + 1) + " declared " + params[i].getSimpleName());
                }
            }
        }
        assertEquals(Set.of(), wrong);
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

package dev.wsprune;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Loads libwsprune once and holds the helpers every call shares: status and
 * error conversion, string checks. Internal.
 */
final class Lib {
    /** The environment variable naming the library file explicitly. */
    static final String ENV = "WSPRUNE_LIBRARY";

    private Lib() {}

    /**
     * Lazily loaded: the first use of the API loads the library (class
     * initialisation is thread-safe). A failure is kept, so that every later
     * call gets the same clear error rather than NoClassDefFoundError.
     */
    private static final class Holder {
        static final String FAILURE;
        static final Loaded LOADED;

        static {
            Loaded loaded = null;
            String failure = null;
            try {
                loaded = load();
            } catch (UnsatisfiedLinkError e) {
                failure = e.getMessage();
            }
            LOADED = loaded;
            FAILURE = failure;
        }
    }

    private record Loaded(LibWsPrune api, NativeLibrary library, String origin) {}

    private static Loaded loaded() {
        if (Holder.LOADED == null) {
            throw new UnsatisfiedLinkError(Holder.FAILURE);
        }
        return Holder.LOADED;
    }

    static LibWsPrune api() {
        return loaded().api();
    }

    /** Where the library was loaded from (a path, or what the loader found). */
    static String origin() {
        return loaded().origin();
    }

    /** The loaded library, for looking functions up. */
    static NativeLibrary library() {
        return loaded().library();
    }

    /** The methods of {@code api} that {@code lib} does not export, sorted. */
    static List<String> missingFunctions(NativeLibrary lib, Class<?> api) {
        List<String> missing = new ArrayList<>();
        for (java.lang.reflect.Method m : api.getDeclaredMethods()) {
            try {
                lib.getFunction(m.getName());
            } catch (UnsatisfiedLinkError e) {
                missing.add(m.getName());
            }
        }
        java.util.Collections.sort(missing);
        return missing;
    }

    /**
     * The library, once it is known to export every function the binding
     * declares: otherwise an error naming its version and what it lacks (JNA
     * would only fail at the first call, saying "Error looking up function").
     */
    private static Loaded checked(NativeLibrary lib, LibWsPrune api, String origin) {
        List<String> missing = missingFunctions(lib, LibWsPrune.class);
        if (missing.contains("wsprune_version")) {
            throw new UnsatisfiedLinkError(origin + " is not libwsprune (no wsprune_version)");
        }
        if (!missing.isEmpty()) {
            throw new UnsatisfiedLinkError("libwsprune " + api.wsprune_version() + " (" + origin + ") lacks "
                    + String.join(", ", missing) + ": install a newer libwsprune");
        }
        return new Loaded(api, lib, origin);
    }

    private static Loaded load() {
        Map<String, Object> options = Map.of(Library.OPTION_STRING_ENCODING, StandardCharsets.UTF_8.name());
        String explicit = System.getenv(ENV);
        if (explicit != null && !explicit.isEmpty()) {
            try {
                NativeLibrary lib = NativeLibrary.getInstance(explicit, options);
                return checked(lib, Native.load(explicit, LibWsPrune.class, options), explicit);
            } catch (UnsatisfiedLinkError e) {
                throw new UnsatisfiedLinkError(ENV + "=" + explicit + " could not be loaded: " + e.getMessage());
            }
        }
        List<String> tried = new ArrayList<>();
        String jnaPath = System.getProperty("jna.library.path");
        tried.add("jna.library.path=" + (jnaPath == null ? "(unset)" : jnaPath));
        String ldPath = System.getenv("LD_LIBRARY_PATH");
        tried.add("LD_LIBRARY_PATH=" + (ldPath == null ? "(unset)" : ldPath));
        tried.add("the system loader's default directories");
        NativeLibrary lib;
        LibWsPrune api;
        try {
            lib = NativeLibrary.getInstance("wsprune", options);
            api = Native.load("wsprune", LibWsPrune.class, options);
        } catch (UnsatisfiedLinkError e) {
            throw new UnsatisfiedLinkError("libwsprune not found; set " + ENV
                    + " to the path of libwsprune.so, or put its directory on jna.library.path or "
                    + "LD_LIBRARY_PATH. Tried: " + String.join("; ", tried) + ". (" + e.getMessage() + ")");
        }
        return checked(lib, api, mappedFile(lib));
    }

    /**
     * The file the system loader mapped: JNA only knows the name it passed to
     * dlopen when the loader found it (LD_LIBRARY_PATH, ldconfig), so look in
     * /proc/self/maps (Linux); the name otherwise.
     */
    private static String mappedFile(NativeLibrary lib) {
        String name = lib.getFile() == null ? lib.getName() : lib.getFile().getPath();
        if (name.startsWith("/")) {
            return name;
        }
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.indexOf('/') < 0 ? "" : l.substring(l.indexOf('/')))
                    .filter(f -> f.substring(f.lastIndexOf('/') + 1).startsWith("libwsprune.so"))
                    .findFirst().orElse(name);
        } catch (java.io.IOException | RuntimeException e) {
            return name;
        }
    }

    /** Turns a status and the error the call returned into an exception (freeing the error). */
    /** An instant as the C ABI takes a time: microseconds since the epoch (0 is "none" there, so the epoch is 1). */
    static long micros(java.time.Instant t) {
        long us;
        try {
            us = Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
        } catch (ArithmeticException e) {
            throw new WsPruneException(Status.INVALID_ARGUMENT, "time " + t + " is out of range");
        }
        return us == 0 ? 1 : us;
    }

    /** An idle TTL: whole seconds, at least 1 (0 is "none" in C). */
    static java.time.Duration ttl(java.time.Duration d) {
        java.util.Objects.requireNonNull(d, "idleTtl");
        if (d.getSeconds() < 1) {
            throw new WsPruneException(Status.INVALID_ARGUMENT, "idle TTL " + d + ": expected at least 1 second");
        }
        if (d.getNano() != 0) {
            // Refused, never cut off (docs/contract.md, "Per-session TTL").
            throw new WsPruneException(Status.INVALID_ARGUMENT, "idle TTL " + d + ": expected a whole number of seconds");
        }
        return d;
    }

    static void check(int status, PointerByReference error) {
        if (status != 0) {
            throw takeError(status, error);
        }
    }

    static WsPruneException takeError(int status, PointerByReference error) {
        Pointer e = error.getValue();
        String message;
        int code = status;
        if (e == null) {
            message = api().wsprune_status_name(status);
        } else {
            try {
                code = api().wsprune_error_status(e);
                message = api().wsprune_error_message(e);
            } finally {
                api().wsprune_error_free(e);
            }
        }
        return new WsPruneException(Status.fromCode(code), message);
    }

    /**
     * Checks a string before it crosses to C: C would cut it at a NUL, and a
     * lone surrogate would be encoded as '?'. Refused with {@code status}.
     */
    static String cString(String s, String what, Status status) {
        if (s == null) {
            throw new NullPointerException(what);
        }
        if (s.indexOf('\0') >= 0) {
            throw new WsPruneException(status, what + " contains a NUL character");
        }
        try {
            StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(java.nio.CharBuffer.wrap(s));
        } catch (CharacterCodingException e) {
            throw new WsPruneException(status, what + " is not valid Unicode (a lone surrogate)");
        }
        return s;
    }

    /**
     * {@code s}, checked as {@link #cString} does, as NUL-terminated UTF-8 in
     * native memory that {@code keepAlive} holds (it must stay reachable until
     * the C call that borrows it returns).
     */
    static com.sun.jna.Memory nativeString(String s, String what, Status status, java.util.List<com.sun.jna.Memory> keepAlive) {
        byte[] bytes = cString(s, what, status).getBytes(StandardCharsets.UTF_8);
        com.sun.jna.Memory m = new com.sun.jna.Memory(bytes.length + 1L);
        m.write(0, bytes, 0, bytes.length);
        m.setByte(bytes.length, (byte) 0);
        keepAlive.add(m);
        return m;
    }

    static String root(java.nio.file.Path root) {
        if (root == null) {
            throw new NullPointerException("root");
        }
        return cString(root.toString(), "workspace root", Status.INVALID_ARGUMENT);
    }

    static String id(String id) {
        return cString(id, "session id", Status.INVALID_SESSION_ID);
    }

    /** A NUL-terminated UTF-8 buffer as a string. */
    static String fromBuffer(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    static byte cBool(boolean b) {
        return b ? (byte) 1 : (byte) 0;
    }
}

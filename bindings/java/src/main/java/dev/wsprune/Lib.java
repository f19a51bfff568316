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
import java.util.concurrent.ConcurrentHashMap;

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

    private static final Map<String, Boolean> PRESENT = new ConcurrentHashMap<>();

    /** Whether the loaded library exports {@code name} (looked up once). */
    static boolean hasFunction(String name) {
        return PRESENT.computeIfAbsent(name, n -> {
            try {
                loaded().library().getFunction(n);
                return true;
            } catch (UnsatisfiedLinkError e) {
                return false;
            }
        });
    }

    /**
     * Throws a clear error when the loaded library is older than a function
     * the binding declares (JNA would only say "Error looking up function").
     */
    static void requireFunction(String name, String since) {
        if (!hasFunction(name)) {
            throw new UnsupportedOperationException(name + " is not in the loaded libwsprune "
                    + api().wsprune_version() + " (" + origin() + "); it needs libwsprune " + since
                    + " or newer");
        }
    }

    private static Loaded load() {
        Map<String, Object> options = Map.of(Library.OPTION_STRING_ENCODING, StandardCharsets.UTF_8.name());
        String explicit = System.getenv(ENV);
        if (explicit != null && !explicit.isEmpty()) {
            try {
                NativeLibrary lib = NativeLibrary.getInstance(explicit, options);
                return new Loaded(Native.load(explicit, LibWsPrune.class, options), lib, explicit);
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
        try {
            NativeLibrary lib = NativeLibrary.getInstance("wsprune", options);
            return new Loaded(Native.load("wsprune", LibWsPrune.class, options), lib, mappedFile(lib));
        } catch (UnsatisfiedLinkError e) {
            throw new UnsatisfiedLinkError("libwsprune not found; set " + ENV
                    + " to the path of libwsprune.so, or put its directory on jna.library.path or "
                    + "LD_LIBRARY_PATH. Tried: " + String.join("; ", tried) + ". (" + e.getMessage() + ")");
        }
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

package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The 0.3.0 declarations in {@link LibWsPrune} marshal as their announced C
 * signatures: checked against a stub shared library compiled from
 * src/test/resources/pending_abi_stub.c (skipped without a C compiler).
 */
class PendingAbiTest {
    @TempDir
    Path tmp;

    private LibWsPrune stub() throws Exception {
        Path src = tmp.resolve("stub.c");
        try (var in = PendingAbiTest.class.getResourceAsStream("/pending_abi_stub.c")) {
            Files.copy(in, src);
        }
        Path so = tmp.resolve("libstub.so");
        Process cc;
        try {
            cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", so.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no C compiler: " + e.getMessage());
            throw e;
        }
        String out = new String(cc.getInputStream().readAllBytes());
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, cc.exitValue(), out);
        return Native.load(so.toString(), LibWsPrune.class, Map.of());
    }

    @Test
    void sessionOpenMarshalsTheIdBufferAndTheCreatedFlag() throws Exception {
        LibWsPrune lib = stub();
        byte[] id = new byte[WsPrune.ID_BUFFER];
        byte[] created = {(byte) 0x55};
        PointerByReference err = new PointerByReference(new Memory(8));
        assertEquals(0, lib.wsprune_session_open("/tmp/ws", null, id, id.length, created, err));
        assertEquals("0f8fad5b-d9cb-469f-a165-70867728950e", Lib.fromBuffer(id));
        assertEquals(1, created[0], "bool true is one byte 1");
        assertNull(err.getValue(), "error set to NULL on success");
        assertEquals(0, lib.wsprune_session_open("/ws", "build-42", id, id.length, created, null));
        assertEquals("build-42", Lib.fromBuffer(id));
        assertEquals(0, created[0], "bool false");
        assertEquals(1, lib.wsprune_session_open("/ws", "build-42", id, 3, created, null), "short buffer");
    }

    @Test
    void resultAccessorsTakeSizeT() throws Exception {
        LibWsPrune lib = stub();
        Pointer r = new Memory(1);
        assertEquals(2, lib.wsprune_prune_result_unmet_target_count(r));
        assertEquals("min_free_bytes", lib.wsprune_prune_result_unmet_target(r, 1));
        assertNull(lib.wsprune_prune_result_unmet_target(r, 2));
        assertNull(lib.wsprune_prune_result_unmet_target(r, 1L << 40), "the index is a full size_t");
        assertEquals(1, lib.wsprune_prune_result_interrupted_count(r));
        assertEquals(".wsprune-trash.x.1.2", lib.wsprune_prune_result_interrupted_name(r, 0));
        assertEquals(0, lib.wsprune_prune_result_interrupted_count(null));
    }
}

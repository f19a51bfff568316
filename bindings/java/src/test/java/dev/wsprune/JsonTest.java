package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesWhatTheLibraryEmits() {
        Object v = Json.parse(" {\"a\": [1, -2.5e1, true, false, null], \"s\": \"x\\\"\\u00e9\\n\\ud83d\\ude00\", "
                + "\"big\": 18446744073709551615, \"o\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(Arrays.asList(1L, -25.0, true, false, null), m.get("a"));
        assertEquals("x\"\u00e9\n\uD83D\uDE00", m.get("s"));
        assertEquals(new BigInteger("18446744073709551615"), m.get("big"));
        assertEquals(Map.of(), m.get("o"));
        for (String bad : List.of("", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "{\"a\":1,}")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void writesAndRoundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"\\\n\u0001");
        m.put("n", 5L);
        m.put("l", Arrays.asList("a", null, true));
        m.put("z", null);
        String text = Json.write(m);
        assertEquals("{\"s\":\"q\\\"\\\\\\n\\u0001\",\"n\":5,\"l\":[\"a\",null,true],\"z\":null}", text);
        assertEquals(m, Json.parse(text));
    }
}

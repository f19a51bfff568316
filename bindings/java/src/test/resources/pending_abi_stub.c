/* A stand-in for the 0.3.0 functions the Java binding declares ahead of the
 * header (PendingAbiTest): same C signatures as announced, fixed answers, so
 * that the JNA declarations' marshalling (bool *, size_t, out buffers) is
 * checked before the core ships them. Not the library: nothing here is real
 * behaviour. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct wsprune_error wsprune_error;
typedef struct wsprune_prune_result wsprune_prune_result;

int wsprune_session_open(const char *root, const char *session_id, char *out_id, size_t out_id_len,
                         bool *out_created, wsprune_error **error) {
    const char *id = session_id ? session_id : "0f8fad5b-d9cb-469f-a165-70867728950e";
    if (error) *error = NULL;
    if (!root || !out_id || out_id_len < strlen(id) + 1) return 1;
    memcpy(out_id, id, strlen(id) + 1);
    if (out_created) *out_created = session_id == NULL || strlen(root) > 5;
    return 0;
}

size_t wsprune_prune_result_unmet_target_count(const wsprune_prune_result *r) { return r ? 2 : 0; }

const char *wsprune_prune_result_unmet_target(const wsprune_prune_result *r, size_t i) {
    static const char *t[] = {"max_total_bytes", "min_free_bytes"};
    return r && i < 2 ? t[i] : NULL;
}

size_t wsprune_prune_result_interrupted_count(const wsprune_prune_result *r) { return r ? 1 : 0; }

const char *wsprune_prune_result_interrupted_name(const wsprune_prune_result *r, size_t i) {
    return r && i == 0 ? ".wsprune-trash.x.1.2" : NULL;
}

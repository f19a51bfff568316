// C side of the event bridge: the wsprune_log_fn handed to the library, which
// forwards every event to the exported Go function wspruneGoLog with the
// cgo.Handle that was passed as user_data.
#include <stdint.h>
#include "wsprune.h"
#include "_cgo_export.h"

static void wsprunego_log(void *user_data, enum wsprune_level level, const char *event, const char *fields_json) {
    wspruneGoLog((uintptr_t)user_data, level, (char *)event, (char *)fields_json);
}

// Installs the bridge with `handle` as user_data, or turns events off for 0.
void wsprunego_set_logger(uintptr_t handle) {
    wsprune_set_log_callback(handle != 0 ? wsprunego_log : NULL, (void *)handle);
}

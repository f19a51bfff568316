'use strict';
// Events: one process-wide JS logger behind one koffi-registered C callback.
//
// The C callback runs on the thread doing the work: the JS thread for
// synchronous calls, a koffi worker thread for `await pruneSessions(...)`.
// koffi queues a call from another thread to the JS thread and makes the
// worker wait until it has run, so events arrive in order, on the JS thread,
// before the promise resolves.
//
// wsprune_set_log_callback waits for callbacks in progress on other threads to
// finish; a worker's callback in progress is waiting for the JS thread, so
// calling it from JS while an async call is in flight would deadlock. Hence
// the C callback is installed once and stays while calls are in flight:
// replacing the JS logger only swaps a JS variable, and turning events off is
// deferred until no async call is in flight.

const { native, LogFn, koffi } = require('./native.cjs');

const LEVELS = ['debug', 'info', 'warning', 'error'];

let logger = null;
let registered = null; // the koffi-registered callback, while installed
let inFlight = 0; // async C calls running on worker threads
let warnedFor = null; // the logger whose exception was last reported

function deliver(_userData, level, name, fieldsJson) {
  const fn = logger;
  if (!fn) return;
  let fields;
  try {
    fields = JSON.parse(fieldsJson);
  } catch {
    fields = { fields_json: fieldsJson };
  }
  try {
    fn({ level: LEVELS[level] ?? `level_${level}`, name, fields });
  } catch (e) {
    // An exception must not reach the C library: the event is dropped, and
    // reported once per logger (not once per event: a prune emits thousands).
    if (warnedFor !== fn) {
      warnedFor = fn;
      process.emitWarning(`wsprune: the logger threw on ${name}: ${e}; later exceptions of this logger are dropped silently`,
        'WsPruneLoggerWarning');
    }
  }
}

function install() {
  if (registered) return;
  const { fns } = native();
  registered = koffi.register(deliver, koffi.pointer(LogFn));
  fns.wsprune_set_log_callback(registered, null);
}

function uninstallIfIdle() {
  if (!registered || logger || inFlight > 0) return;
  native().fns.wsprune_set_log_callback(null, null);
  koffi.unregister(registered);
  registered = null;
}

/**
 * Installs `fn` as the receiver of every event ({level, name, fields});
 * null or undefined turns events off.
 */
function setLogger(fn) {
  if (fn != null && typeof fn !== 'function') {
    throw new TypeError('wsprune: setLogger expects a function, null or undefined');
  }
  logger = fn ?? null;
  if (logger) install();
  else uninstallIfIdle();
}

/** Runs `start(done)` (an async C call) with the callback kept installed until it is done. */
function trackAsync(promiseFactory) {
  inFlight++;
  let p;
  try {
    p = promiseFactory();
  } catch (e) {
    inFlight--;
    uninstallIfIdle();
    throw e;
  }
  return p.finally(() => {
    inFlight--;
    uninstallIfIdle();
  });
}

module.exports = { setLogger, trackAsync, LEVELS };

//! Where the tool's lines go, as they happen: results on stdout, errors and
//! warnings on stderr, each line written and flushed at once (a prune that is
//! killed has shown what it did up to then). When a stream is the journal
//! (`$JOURNAL_STREAM` names its device and inode, as systemd sets it), every
//! line starts with its sd-daemon priority prefix (`<3>` error, `<4>`
//! warning, `<5>` notice, `<6>` info), so `journalctl -p err` finds errors.
//! Guest-controlled strings are escaped by the callers
//! ([`wsprune::escape`]); JSON is written as serde writes it.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use crate::exit::{Exit, Fatal};

/// Version of every `--json` output's layout (docs/schemas/); raised when a
/// field changes meaning or type, never for an added field.
pub const SCHEMA_VERSION: u64 = 1;

/// sd-daemon priorities (syslog levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// Whether `fd` is the stream `$JOURNAL_STREAM` names (`DEVICE:INODE`).
fn is_journal(fd: i32) -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let v = v.to_string_lossy();
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    // SAFETY: `libc` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer; fstat only writes it.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    dev.parse::<u64>() == Ok(st.st_dev) && ino.parse::<u64>() == Ok(st.st_ino)
}

fn stdout_is_journal() -> bool {
    static J: OnceLock<bool> = OnceLock::new();
    *J.get_or_init(|| is_journal(std::io::stdout().as_raw_fd()))
}

fn stderr_is_journal() -> bool {
    static J: OnceLock<bool> = OnceLock::new();
    *J.get_or_init(|| is_journal(std::io::stderr().as_raw_fd()))
}

fn prefix(journal: bool, p: Priority) -> String {
    if journal {
        format!("<{}>", p as u8)
    } else {
        String::new()
    }
}

/// Serialises stderr between the main thread and the progress line: a line
/// written while the progress line is drawn erases it first.
pub static STDERR: Mutex<bool> = Mutex::new(false);

/// Whether stdout is gone (a reader that went away, as `| head` does: not an error).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` (whole lines) to stdout now, each line with the `info`
/// priority prefix when stdout is the journal. A closed pipe is not an error.
pub fn out(text: &str) -> Result<(), Fatal> {
    out_with(Priority::Info, text)
}

/// [`out`] with a priority other than `info` (the prune's summary line is a notice).
pub fn out_with(p: Priority, text: &str) -> Result<(), Fatal> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let text = if stdout_is_journal() {
        text.lines().map(|l| format!("{}{l}\n", prefix(true, p))).collect()
    } else {
        text.to_owned()
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Fatal::new(Exit::IoErr, format!("cannot write to standard output: {e}"))),
    }
}

/// Writes one line `wsprune: <kind>: <msg>` to stderr (with its priority
/// prefix when stderr is the journal), ignoring a closed stderr.
pub fn say(p: Priority, kind: &str, msg: &str) {
    raw_err(&format!("{}wsprune: {kind}: {msg}\n", prefix(stderr_is_journal(), p)));
}

/// `wsprune: error: ...`.
pub fn error(msg: &str) {
    say(Priority::Err, "error", msg);
}

/// `wsprune: warning: ...`.
pub fn warning(msg: &str) {
    say(Priority::Warning, "warning", msg);
}

/// One JSON line on stderr (an event of `--events json`), prefixed when stderr is the journal.
pub fn err_json(p: Priority, v: &Value) {
    raw_err(&format!("{}{v}\n", prefix(stderr_is_journal(), p)));
}

/// Writes `text` to stderr, erasing the progress line first if it is drawn.
fn raw_err(text: &str) {
    let mut drawn = STDERR.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr().lock();
    if *drawn {
        let _ = err.write_all(b"\r\x1b[2K");
        *drawn = false;
    }
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Set by commands given `--json`: a fatal error is then also a JSON object on stdout.
static JSON_MODE: AtomicBool = AtomicBool::new(false);

pub fn set_json(on: bool) {
    JSON_MODE.store(on, Ordering::Relaxed);
}

/// The fields every `--json` object starts with.
pub fn envelope() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("schema_version".into(), json!(SCHEMA_VERSION));
    m.insert("tool_version".into(), json!(env!("CARGO_PKG_VERSION")));
    m
}

/// Reports a fatal error: one line on stderr and, under `--json`, the error
/// object on stdout (docs/schemas/error.schema.json), so that `... --json |
/// jq .reclaimed_bytes` does not "succeed" with nothing to read.
pub fn fatal(f: &Fatal) {
    error(&f.message);
    if JSON_MODE.load(Ordering::Relaxed) {
        let mut m = envelope();
        m.insert(
            "error".into(),
            json!({"status": f.exit.name(), "exit_code": f.exit.code(), "message": f.message}),
        );
        let _ = out_with(Priority::Err, &format!("{}\n", Value::Object(m)));
    }
}

//! The deployment examples in contrib/ are true: the systemd units pass
//! `systemd-analyze verify` (where it is installed), and the command lines of
//! wsprune-watch.service and the Kubernetes DaemonSet (parsed as YAML) start
//! `wsprune watch` for real on a temporary root, which reports readiness and
//! stops with status 0 on SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `wsprune ARGS` (the binary under test) with a notify socket, waits
/// for READY=1, then stops it with SIGTERM: it must exit 0.
fn starts_and_stops(args: &[String]) {
    let tmp = tempfile::tempdir().unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsprune"))
        .args(args)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = sock
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no READY from {args:?}: {e}"));
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"), "{args:?}");
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{args:?} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{args:?}");
}

/// `KEY=value` lines of a unit file (all of them, in order).
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_systemd_units_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("SKIPPED: systemd-analyze is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for name in ["wsprune-watch.service", "wsprune-prune.service", "wsprune-prune.timer"] {
        // The units name /usr/local/bin/wsprune; verify checks that the binary exists.
        let text = std::fs::read_to_string(repo().join("contrib/systemd").join(name)).unwrap();
        let text = text.replace("/usr/local/bin/wsprune", env!("CARGO_BIN_EXE_wsprune"));
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    for name in ["wsprune-watch.service", "wsprune-prune.service"] {
        // --man=no: the units' man:wsprune(1) is installed by the packages, not here.
        let o = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(tmp.path().join(name))
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn the_watch_unit_is_a_hardened_notify_service_whose_command_line_runs() {
    let unit = std::fs::read_to_string(repo().join("contrib/systemd/wsprune-watch.service")).unwrap();
    for (key, value) in [
        ("Type", "notify"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("PrivateNetwork", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX"),
    ] {
        assert_eq!(unit_values(&unit, key), vec![value], "{key}");
    }
    assert!(!unit_values(&unit, "WatchdogSec").is_empty());
    let exec = unit_values(&unit, "ExecStart")[0];
    let mut args: Vec<String> = exec.split_whitespace().skip(1).map(str::to_owned).collect();
    assert_eq!(args[0], "watch");
    // What it writes (the root, the metrics file's directory) is what it may write.
    let metrics = args.iter().position(|a| a == "--metrics-file").unwrap() + 1;
    let textfile_dir = Path::new(&args[metrics]).parent().unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        unit_values(&unit, "ReadWritePaths"),
        vec![format!("{} {textfile_dir}", args[1])]
    );
    assert_eq!(unit_values(&unit, "RequiresMountsFor"), vec![args[1].as_str()]);
    let tmp = tempfile::tempdir().unwrap();
    args[1] = tmp.path().to_string_lossy().into_owned();
    args[metrics] = tmp.path().join("wsprune.prom").to_string_lossy().into_owned();
    starts_and_stops(&args);
    assert!(std::fs::read_to_string(&args[metrics])
        .unwrap()
        .contains("wsprune_prune_last_run_timestamp_seconds"));
}

/// The DaemonSet as JSON (python3's yaml module parses it: PyYAML, which
/// `.ci/run` installs).
fn daemonset() -> serde_json::Value {
    let path = repo().join("contrib/kubernetes/daemonset.yaml");
    let o = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; docs = list(yaml.safe_load_all(open(sys.argv[1]))); print(json.dumps(docs))",
        ])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "cannot parse {} (needs python3-yaml): {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let docs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(docs.len(), 1);
    docs.into_iter().next().unwrap()
}

#[test]
fn the_daemonset_mounts_the_hosts_root_and_textfile_directory_and_its_command_runs() {
    let d = daemonset();
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["kind"], "DaemonSet");
    let spec = &d["spec"]["template"]["spec"];
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        d["spec"]["template"]["metadata"]["labels"]
    );
    let c = &spec["containers"][0];
    let mut args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(c["command"][0], "wsprune");
    assert_eq!(args[0], "watch");
    // Each volume mount is a hostPath volume; the root is one of them.
    let volume = |mount_path: &str| {
        let m = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == mount_path)
            .unwrap_or_else(|| panic!("nothing mounted at {mount_path}"));
        spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == m["name"])
            .unwrap()
            .clone()
    };
    assert!(
        volume(&args[1])["hostPath"]["path"].is_string(),
        "the root is not a hostPath"
    );
    let textfile = volume("/textfile");
    assert_eq!(
        textfile["hostPath"]["path"],
        "/var/lib/node_exporter/textfile_collector"
    );
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    // The metrics file goes into the textfile collector's directory.
    let metrics = args.iter().position(|a| a.starts_with("--metrics-file=")).unwrap();
    assert_eq!(args[metrics], "--metrics-file=/textfile/wsprune.prom");
    let tmp = tempfile::tempdir().unwrap();
    args[1] = tmp.path().to_string_lossy().into_owned();
    args[metrics] = format!("--metrics-file={}", tmp.path().join("wsprune.prom").display());
    starts_and_stops(&args);
    assert!(tmp.path().join("wsprune.prom").exists());
}

#[test]
fn every_contrib_file_is_tested_here() {
    let this = std::fs::read_to_string(repo().join("tests/contrib.rs")).unwrap();
    for dir in ["contrib/systemd", "contrib/kubernetes"] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(this.contains(&name), "{dir}/{name} is not tested");
        }
    }
}

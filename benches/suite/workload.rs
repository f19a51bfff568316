//! The workloads: seeded, so every rebuild gives the same names, layout and
//! file sizes, and runs on different days are comparable.

use std::path::Path;

use chrono::{Duration, Utc};

/// Age of a stale session's `updated_at`; the prune threshold is [`THRESHOLD_HOURS`].
const STALE_AGE_HOURS: i64 = 48;
/// The `older_than_hours` every prune in the suite uses.
pub const THRESHOLD_HOURS: f64 = 24.0;

/// SplitMix64: a tiny seeded generator, so the suite needs no `rand` crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random-looking, reproducible lower-case hyphenated UUIDv4.
    pub fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }
}

/// The shape of one workload.
pub struct Spec {
    /// Short name used in tables and paths, e.g. `W1`.
    pub name: String,
    /// One line for the docs.
    pub description: String,
    pub sessions: usize,
    pub files_per_session: usize,
    /// Directories inside each session (parents before children); files go
    /// round-robin into them, `""` being the session directory itself.
    pub dirs: Vec<String>,
    /// File sizes are uniform in `0..=max_file_size`.
    pub max_file_size: usize,
    /// 1% legacy sessions (no metadata) and 1% with garbage metadata.
    pub odd_ones: bool,
}

impl Spec {
    /// W1: the typical workspace. Files in the session, `work/` and `work/out/`.
    pub fn w1(sessions: usize) -> Spec {
        Spec {
            name: "W1".into(),
            description: format!(
                "{sessions} sessions x 10 files (0 to 33 KiB, two directory levels), \
                 half stale, 1% legacy, 1% corrupted metadata"
            ),
            sessions,
            files_per_session: 10,
            dirs: vec!["".into(), "work".into(), "work/out".into()],
            max_file_size: 33 * 1024,
            odd_ones: true,
        }
    }

    /// W2: a vendored package tree per session (20 packages, 3 levels each).
    pub fn w2(sessions: usize) -> Spec {
        let dirs = (0..20)
            .flat_map(|p| ["", "/src", "/src/util"].map(|d| format!("vendor/pkg{p:02}{d}")))
            .collect();
        Spec {
            name: "W2".into(),
            description: format!(
                "{sessions} sessions x 400 small files (0 to 4 KiB) in vendor/pkgNN/src/util trees \
                 (61 directories each), half stale"
            ),
            sessions,
            files_per_session: 400,
            dirs,
            max_file_size: 4096,
            odd_ones: false,
        }
    }

    /// W3 and the scaling points: many small sessions.
    pub fn flat(name: &str, sessions: usize) -> Spec {
        Spec {
            name: name.into(),
            description: format!("{sessions} sessions x 2 files (0 to 4 KiB), half stale"),
            sessions,
            files_per_session: 2,
            dirs: vec!["".into()],
            max_file_size: 4096,
            odd_ones: false,
        }
    }
}

/// What a build produced, for checking what each contender did.
pub struct Built {
    /// Names of the stale sessions: what a prune must delete and what `rm` is given.
    pub stale: Vec<String>,
    /// The space allocated to the stale sessions (`du -sB1` of each: every
    /// file, metadata included, and directory, in st_blocks): what a prune
    /// must report as reclaimed.
    pub stale_bytes: u64,
    /// Legacy and corrupted sessions: what a prune must report as skipped.
    pub skipped: usize,
    /// Files written (metadata included), over all sessions.
    pub files: u64,
}

/// Builds `spec` under `root`: all of it (`stale_only` false, `root` must
/// not exist), or just the stale sessions, re-created with the same names and
/// sizes after a contender deleted them (the fresh ones, which no contender
/// touches, are still there). Either way it returns the whole workload's figures.
pub fn build(root: &Path, spec: &Spec, stale_only: bool) -> std::io::Result<Built> {
    static DATA: [u8; 64 * 1024] = [b'x'; 64 * 1024];
    std::fs::create_dir_all(root)?;
    let mut rng = Rng::new(0x5eed ^ spec.sessions as u64);
    let now = Utc::now();
    let stale_time = now - Duration::hours(STALE_AGE_HOURS);
    let mut built = Built {
        stale: Vec::with_capacity(spec.sessions / 2),
        stale_bytes: 0,
        skipped: 0,
        files: 0,
    };
    for i in 0..spec.sessions {
        // Draw every number whether or not it is written, so names and sizes never shift.
        let id = rng.uuid();
        let sizes: Vec<usize> = (0..spec.files_per_session)
            .map(|_| (rng.next_u64() % (spec.max_file_size as u64 + 1)) as usize)
            .collect();
        let stale = i % 2 == 0;
        // Every 100 sessions: one legacy (no metadata) and one corrupted, both among the fresh half.
        let metadata = match i % 100 {
            1 if spec.odd_ones => None,
            3 if spec.odd_ones => Some("{\"session_id\": garbage".to_owned()),
            _ => Some(wsprune::SessionMetadata::new(id.clone(), if stale { stale_time } else { now }).to_json()),
        };
        if spec.odd_ones && matches!(i % 100, 1 | 3) {
            built.skipped += 1;
        }
        built.files += (spec.files_per_session + usize::from(metadata.is_some())) as u64;
        if stale || !stale_only {
            let dir = root.join(&id);
            std::fs::create_dir(&dir)?;
            for d in spec.dirs.iter().filter(|d| !d.is_empty()) {
                std::fs::create_dir_all(dir.join(d))?;
            }
            for (j, &size) in sizes.iter().enumerate() {
                let name = format!("f{j}");
                std::fs::write(dir.join(&spec.dirs[j % spec.dirs.len()]).join(name), &DATA[..size])?;
            }
            if let Some(json) = metadata {
                std::fs::write(dir.join(wsprune::metadata::METADATA_FILE), json)?;
            }
        }
        if stale {
            built.stale_bytes += allocated(&root.join(&id))?;
            built.stale.push(id);
        }
    }
    Ok(built)
}

/// The bytes allocated to `path` and everything under it (`du -sB1`; the
/// workloads make no hard links, so no inode is counted twice).
fn allocated(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            total += allocated(&entry?.path())?;
        }
    }
    Ok(total)
}

/// Removes `root` and everything in it, its entries spread over 8 threads:
/// deletion waits on the disk more than on the CPU, and this cleanup between
/// workloads is not measured, only waited for.
pub fn remove(root: &Path) {
    let entries: Vec<_> = std::fs::read_dir(root)
        .expect("read the root")
        .map(|e| e.expect("root entry").path())
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                while let Some(p) = entries.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    // Sessions, and whatever else a prune keeps in the root (its lock file).
                    let is_dir = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
                    if is_dir {
                        std::fs::remove_dir_all(p)
                    } else {
                        std::fs::remove_file(p)
                    }
                    .expect("remove a root entry");
                }
            });
        }
    });
    std::fs::remove_dir(root).expect("remove the root");
}

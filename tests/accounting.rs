//! Sizes a guest cannot inflate: a session's size is what it takes on disk
//! (allocated blocks, each inode once), as `du -sB1` says, and a deletion
//! reports what it freed. On a small private tmpfs, with a guest's sparse
//! file and hard links: `info`, `ls` (list), the dry run, the capacity rule
//! and a real deletion all agree with du, and the guest's apparent size
//! evicts no other tenant.

#[path = "prune_support/mod.rs"]
mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::*;
use wsprune::PruneOptions;

/// A private tmpfs of 32 MiB under a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Result<Tmpfs, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = tmp.path().join("fs");
        mount_tmpfs(&dir, "size=32m")?;
        Ok(Tmpfs { dir, _tmp: tmp })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        umount(&self.dir);
    }
}

/// Five tenants' sessions, 2 to 6 hours old, each with 8 KiB of data, and
/// a fresh guest session holding a 10 TiB sparse file and a 1 MiB file with
/// 2000 more links. Returns (the guest's id, the tenants' ids).
fn tenants_and_guest(root: &Path) -> (String, Vec<String>) {
    let tenants: Vec<String> = (0..5)
        .map(|i| {
            let id = session(root, 2.0 + i as f64);
            write_file(&root.join(&id).join("work.bin"), 8192);
            id
        })
        .collect();
    let guest = session(root, 0.0);
    let g = root.join(&guest);
    // `truncate -s 10T`: a length, no blocks.
    std::fs::File::create(g.join("huge.img"))
        .unwrap()
        .set_len(10 << 40)
        .unwrap();
    write_file(&g.join("one.bin"), 1 << 20);
    std::fs::create_dir(g.join("links")).unwrap();
    for i in 0..2000 {
        std::fs::hard_link(g.join("one.bin"), g.join("links").join(format!("l{i}"))).unwrap();
    }
    assert_eq!(std::fs::metadata(g.join("one.bin")).unwrap().nlink(), 2001);
    (guest, tenants)
}

#[test]
fn sizes_agree_with_du_on_sparse_files_and_hard_links() {
    let _serial = shared();
    let fs = match Tmpfs::mount() {
        Ok(fs) => fs,
        Err(why) => return eprintln!("SKIPPED sizes_agree_with_du_on_sparse_files_and_hard_links: {why}"),
    };
    let root = fs.dir.join("ws");
    let (guest, tenants) = tenants_and_guest(&root);
    let du_guest = du_bytes(&root.join(&guest));
    // 1 MiB and the metadata file's block: not 10 TiB, not 2001 MiB.
    assert!(du_guest < 2 << 20, "du says {du_guest}");
    assert_eq!(
        tree_bytes(&root.join(&guest)),
        du_guest,
        "the test's own count agrees with du"
    );

    // info and ls.
    assert_eq!(wsprune::session_info(&root, &guest).unwrap().size_bytes, du_guest);
    for s in wsprune::list_sessions(&root, 2).unwrap() {
        assert_eq!(s.size_bytes, du_bytes(&root.join(&s.session_id)), "{}", s.session_id);
    }

    // The capacity rule: everything fits in 16 MiB (the root holds about
    // 1.1 MiB), so nothing is evicted, dry run or not. Counting lengths
    // (10 TiB) or links (2 GB) evicted all five tenants.
    let opts = |dry_run| PruneOptions {
        older_than_hours: None,
        max_total_bytes: Some(16 << 20),
        min_age_hours: 0.0,
        dry_run,
        ..Default::default()
    };
    for dry_run in [true, false] {
        let r = wsprune::prune_sessions(&root, &opts(dry_run)).unwrap();
        assert!(
            r.deleted_sessions.is_empty(),
            "dry run {dry_run}: evicted {:?}",
            r.deleted_sessions
        );
    }
    let mut left = names(&root);
    left.sort();
    let mut all = tenants.clone();
    all.push(guest.clone());
    all.sort();
    assert_eq!(left, all);

    // A target the sessions really exceed evicts the oldest, just enough,
    // and the dry run's bytes are du's.
    let total: u64 = all.iter().map(|id| du_bytes(&root.join(id))).sum();
    let oldest = &tenants[4];
    let target = total - du_bytes(&root.join(oldest));
    let dry = wsprune::prune_sessions(
        &root,
        &PruneOptions {
            max_total_bytes: Some(target),
            ..opts(true)
        },
    )
    .unwrap();
    assert_eq!(dry.deleted_sessions, vec![oldest.clone()]);
    assert_eq!(dry.reclaimed_bytes, du_bytes(&root.join(oldest)));

    // Deleting the guest's session frees what du counted.
    assert_eq!(wsprune::delete_session(&root, &guest, None).unwrap(), du_guest);
}

/// A deletion counts what it frees: a file whose other links survive
/// (here outside the session) frees nothing; the dry run counts it, as du does.
#[test]
fn reclaimed_bytes_leaves_out_files_still_linked_elsewhere() {
    let _serial = shared();
    let fs = match Tmpfs::mount() {
        Ok(fs) => fs,
        Err(why) => return eprintln!("SKIPPED reclaimed_bytes_leaves_out_files_still_linked_elsewhere: {why}"),
    };
    let root = fs.dir.join("ws");
    let kept = fs.dir.join("kept.bin");
    write_file(&kept, 64 << 10);
    let id = session(&root, 48.0);
    let d = root.join(&id);
    std::fs::hard_link(&kept, d.join("link-a")).unwrap();
    std::fs::hard_link(&kept, d.join("link-b")).unwrap();
    // A file whose links are all inside frees its blocks once.
    write_file(&d.join("inside.bin"), 32 << 10);
    std::fs::hard_link(d.join("inside.bin"), d.join("inside-again")).unwrap();

    let du = du_bytes(&d);
    let dry = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, true)).unwrap();
    assert_eq!(dry.reclaimed_bytes, du);
    let freed = du - std::fs::metadata(&kept).unwrap().blocks() * 512;
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, false)).unwrap();
    assert_eq!(r.deleted_sessions, vec![id]);
    assert_eq!(r.reclaimed_bytes, freed);
    assert_eq!(std::fs::metadata(&kept).unwrap().nlink(), 1);
}

//! A small scoped worker pool: the filesystem work of a prune runs on
//! `jobs` threads, while results are consumed (recorded, reported through
//! events) on the calling thread, so log callbacks keep running on the
//! thread that called wsprune.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` on every item (until the running prune is cancelled, see
/// [`crate::control`]) with up to `jobs` threads, handing each result to
/// `sink` on the calling thread as soon as it is ready (in completion order,
/// with the item's index). With `jobs <= 1` (or one item) everything runs on
/// the calling thread, in order. Threads that cannot be created (RLIMIT_NPROC,
/// a pids cgroup, no memory) are not an error: the threads that were created
/// share the work, and if none was, the calling thread does it all.
pub fn run<T, R, W, S>(items: &[T], jobs: usize, work: W, mut sink: S)
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    S: FnMut(usize, R),
{
    let next = AtomicUsize::new(0);
    // A cancelled prune (see crate::control) claims no further item: the ones under way finish.
    let cancel = crate::control::cancel_flag();
    // Takes the next unclaimed item; every item is claimed at most once.
    let claim = || {
        if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return None;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        items.get(i).map(|item| (i, item))
    };
    let workers = jobs.min(items.len());
    if workers > 1 {
        // Workers of a C ABI call keep its silence about panics (see panic_hook).
        let quiet = crate::panic_hook::is_quiet();
        let (tx, rx) = mpsc::channel::<(usize, R)>();
        let spawned = std::thread::scope(|scope| {
            let mut spawned = 0;
            for _ in 0..workers {
                let tx = tx.clone();
                let (claim, work) = (&claim, &work);
                let worker = move || {
                    crate::panic_hook::quietly(quiet, || {
                        while let Some((i, item)) = claim() {
                            if tx.send((i, work(item))).is_err() {
                                break;
                            }
                        }
                    })
                };
                match std::thread::Builder::new().spawn_scoped(scope, worker) {
                    Ok(_) => spawned += 1,
                    Err(_) => break,
                }
            }
            drop(tx);
            // Ends when every worker has finished and dropped its sender
            // (at once if none was created).
            for (i, r) in rx {
                sink(i, r);
            }
            spawned
        });
        if spawned > 0 {
            return;
        }
    }
    // One job, or no thread could be created: everything on the calling thread.
    while let Some((i, item)) = claim() {
        sink(i, work(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_whatever_the_jobs() {
        let items: Vec<u32> = (0..500).collect();
        for jobs in [0, 1, 2, 7, 64] {
            let mut seen = vec![0u32; items.len()];
            run(
                &items,
                jobs,
                |x| x * 2,
                |i, r| {
                    assert_eq!(r, items[i] * 2);
                    seen[i] += 1;
                },
            );
            assert!(seen.iter().all(|&n| n == 1), "jobs={jobs}");
        }
    }

    #[test]
    fn sink_runs_on_the_calling_thread() {
        let me = std::thread::current().id();
        let items = [1, 2, 3, 4];
        run(
            &items,
            4,
            |_| std::thread::current().id(),
            |_, _| {
                assert_eq!(std::thread::current().id(), me);
            },
        );
    }
}

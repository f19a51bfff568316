//! A small scoped worker pool: the filesystem work of a prune runs on
//! `jobs` threads, while results are consumed (recorded, reported through
//! events) on the calling thread, so log callbacks keep running on the
//! thread that called wsprune.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` on every item with up to `jobs` threads, handing each result to
/// `sink` on the calling thread as soon as it is ready (in completion order,
/// with the item's index). With `jobs <= 1` (or one item) everything runs on the calling thread, in order.
pub fn run<T, R, W, S>(items: &[T], jobs: usize, work: W, mut sink: S)
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    S: FnMut(usize, R),
{
    let workers = jobs.min(items.len());
    if workers <= 1 {
        for (i, item) in items.iter().enumerate() {
            sink(i, work(item));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    // Workers of a C ABI call keep its silence about panics (see panic_hook).
    let quiet = crate::panic_hook::is_quiet();
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                crate::panic_hook::quietly(quiet, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(item))).is_err() {
                        break;
                    }
                })
            });
        }
        drop(tx);
        // Ends when every worker has finished and dropped its sender.
        for (i, r) in rx {
            sink(i, r);
        }
    });
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

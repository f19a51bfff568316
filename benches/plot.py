"""Draws the scaling plot of the benchmark suite: wall time and peak RSS of
prune and dry run against the number of sessions, with `xargs rm -rf` and
`du -sb` for reference. Reads the JSON the harness writes
(target/bench/results.json) and writes the PNG it names.

Usage: python benches/plot.py target/bench/results.json
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        results = json.load(f)
    points = results["scaling"]
    n = [p["sessions"] for p in points]

    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in [
        ("prune_s", "wsprune prune", "o-"),
        ("rm_s", "xargs -0 rm -rf (stale dirs)", "s--"),
        ("dry_run_s", "wsprune dry run", "^-"),
        ("du_s", "du -sb (root)", "v--"),
    ]:
        time_ax.plot(n, [p[key] for p in points], style, label=label)
    time_ax.set(xscale="log", yscale="log", xlabel="sessions (x 2 files, half stale)",
                ylabel="wall time (s)", title="Wall time (log-log: linear work has slope 1)")
    time_ax.grid(True, which="both", alpha=0.3)
    time_ax.legend()

    for key, label, style in [
        ("prune_rss_mib", "prune", "o-"),
        ("dry_run_rss_mib", "dry run", "^-"),
    ]:
        rss_ax.plot(n, [p[key] for p in points], style, label=label)
    rss_ax.axhline(64, color="red", linestyle=":", label="target: 64 MiB")
    # Linear axes: memory linear in the sessions is a straight line.
    rss_ax.set(xlabel="sessions (x 2 files, half stale)", ylabel="peak RSS (MiB)",
               title="Peak RSS of the prune process (ru_maxrss)", xlim=(0, None), ylim=(0, None))
    rss_ax.grid(True, which="both", alpha=0.3)
    rss_ax.legend()

    time_ax.set_xticks(n, [f"{x // 1000}k" if x >= 1000 else str(x) for x in n])
    time_ax.minorticks_off()
    fig.tight_layout()
    fig.savefig(results["plot"], dpi=110)
    print(f"bench: wrote {results['plot']}")


if __name__ == "__main__":
    main()

"""What ``du -sB1`` says a directory takes: the sizes wsprune reports
(docs/contract.md, "Sizes"), re-implemented independently for the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Set, Tuple


def tree_bytes(path: Path) -> int:
    """Allocated blocks (st_blocks * 512) of ``path`` and everything below
    it, directories included, each inode once, symlinks never followed."""
    seen: Set[Tuple[int, int]] = set()
    total = os.lstat(path).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            st = os.lstat(os.path.join(dirpath, n))
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total

"""The Go module as a module proxy serves it, for GOPROXY=file://...:
python3 packaging/gomodzip.py MODULE_DIR MODULE_PATH VERSION OUT_DIR
writes OUT_DIR/<module path>/@v/{list, VERSION.info, VERSION.mod, VERSION.zip}.
The zip holds the module's tracked files (what `go mod download` of the tag
would hold) under MODULE_PATH@VERSION/, with fixed times (SOURCE_DATE_EPOCH)
and sorted entries, so it is reproducible.
"""

import json
import os
import subprocess
import sys
import time
import zipfile

module_dir, module_path, version, out = sys.argv[1:5]
epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
files = sorted(subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", module_dir], check=True, capture_output=True, text=True).stdout.split())
# A subdirectory with its own go.mod is another module (bindings/go/collector):
# the go command leaves it out of this module's zip, and refuses a zip that has it.
nested = {os.path.dirname(f) for f in files if os.path.basename(f) == "go.mod" and os.path.dirname(f) != module_dir.rstrip("/")}
files = [f for f in files if not any(f.startswith(n + "/") for n in nested)]
at = os.path.join(out, module_path, "@v")
os.makedirs(at, exist_ok=True)
stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip cannot hold times before 1980
with zipfile.ZipFile(os.path.join(at, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for f in files:
        if os.path.islink(f):
            continue  # the go command leaves symlinks out of module zips
        info = zipfile.ZipInfo(f"{module_path}@{version}/{os.path.relpath(f, module_dir)}", stamp)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(f, "rb") as fh:
            z.writestr(info, fh.read())
with open(os.path.join(module_dir, "go.mod"), "rb") as src, open(os.path.join(at, version + ".mod"), "wb") as dst:
    dst.write(src.read())
with open(os.path.join(at, version + ".info"), "w") as fh:
    json.dump({"Version": version, "Time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))}, fh)
with open(os.path.join(at, "list"), "w") as fh:
    fh.write(version + "\n")

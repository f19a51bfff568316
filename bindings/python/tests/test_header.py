"""The binding is checked against include/wsprune.h, as the Node.js and Java
bindings are: every C function of the header is declared in ``_lib.FUNCTIONS``
(so a new one cannot be forgotten), nothing else is, and each declaration's
restype and argtypes are the ctypes types of the header's prototype; the
ctypes mirrors of the header's structs and of its callback type match them
field by field; and ``_lib.REQUIRED`` is exactly the set of C functions the
package calls."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest

import wsprune
from wsprune import _lib

HEADER = Path(__file__).resolve().parents[3] / "include" / "wsprune.h"
PACKAGE = Path(wsprune.__file__).resolve().parent

VOIDP = ctypes.c_void_p
OUT_VOIDP = ctypes.POINTER(ctypes.c_void_p)

# C type (as cbindgen spells it, `const` and `struct`/`enum` dropped) -> the
# ctypes types that declare it correctly. A `char *` parameter is a buffer
# the library fills (c_char_p) or an owned string handed back (void *); a
# `char *` result is owned by the caller, so it must be a void * (a c_char_p
# result would be copied and the original never freed).
SCALARS: Dict[str, Any] = {
    "int": ctypes.c_int,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "double": ctypes.c_double,
    "bool": ctypes.c_bool,
    # A C enum is an int in the C ABI.
    "wsprune_status": ctypes.c_int,
    "wsprune_level": ctypes.c_int,
}
OPAQUE = {"wsprune_error", "wsprune_lease", "wsprune_prune_result", "wsprune_stats"}
STRUCTS = {
    "wsprune_prune_options": _lib.PruneOptions,
    "wsprune_session_details": _lib.SessionDetails,
    "wsprune_session_options": _lib.SessionOptions,
}


def _same(a: Any, b: Any) -> bool:
    # ctypes caches POINTER(T), and its fixed-width names are aliases of the
    # C types (c_int32 is c_int here): identity is equality.
    return a is b


def accepted(c_type: str, result: bool = False) -> List[Any]:
    """The ctypes types that correctly declare the C type ``c_type``."""
    t = re.sub(r"\b(const|struct|enum)\b", " ", c_type)
    stars = t.count("*")
    base = t.replace("*", " ").split()
    assert len(base) == 1, f"cannot read the C type {c_type!r}"
    name = base[0]
    if stars == 0:
        if name == "void":
            return [None]
        if name == "wsprune_log_fn":
            return [_lib.LOG_FN]
        assert name in SCALARS, f"no ctypes mapping for the C type {c_type!r}: add one to SCALARS"
        return [SCALARS[name]]
    if stars == 1:
        if name == "char":
            if "const" in c_type:
                return [ctypes.c_char_p]
            return [VOIDP] if result else [ctypes.c_char_p, VOIDP]
        if name in OPAQUE or name == "void":
            return [VOIDP]
        if name in STRUCTS:
            return [ctypes.POINTER(STRUCTS[name])]
        assert name in SCALARS, f"no ctypes mapping for the C type {c_type!r}: add one to SCALARS"
        return [ctypes.POINTER(SCALARS[name])]
    if stars == 2 and name == "char" and re.search(r"const\s*char\s*\*\s*const\s*\*", c_type):
        # An array of borrowed strings (wsprune_session_options.reserved).
        return [ctypes.POINTER(ctypes.c_char_p)]
    if stars == 2 and (name in OPAQUE or name == "char"):
        # An out-parameter receiving an object or an owned string.
        return [OUT_VOIDP]
    raise AssertionError(f"no ctypes mapping for the C type {c_type!r}")


def header_text() -> str:
    text = HEADER.read_text()
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def split_decl(decl: str) -> Tuple[str, str]:
    """``"const char *name"`` -> ``("const char *", "name")``."""
    m = re.match(r"^(.*?[\s*])(\w+)$", decl.strip())
    assert m, f"cannot read the declaration {decl!r}"
    return m.group(1).strip(), m.group(2)


def header_functions() -> Dict[str, Tuple[str, List[str]]]:
    """Function name -> (result C type, parameter C types), from the prototypes."""
    out: Dict[str, Tuple[str, List[str]]] = {}
    for m in re.finditer(r"^(?!typedef)([^;{}()#]*?)\b(wsprune_\w+)\(([^()]*)\);", header_text(), flags=re.M):
        params = m.group(3).strip()
        types = [] if params in ("", "void") else [split_decl(p)[0] for p in params.split(",")]
        out[m.group(2)] = (m.group(1).strip(), types)
    return out


def header_struct(name: str) -> List[Tuple[str, str]]:
    m = re.search(r"typedef struct " + name + r" \{(.*?)\} " + name + ";", header_text(), flags=re.S)
    assert m, f"no struct {name} in the header"
    return [split_decl(f) for f in m.group(1).split(";") if f.strip()]


def check(what: str, c_types: Sequence[str], declared: Sequence[Any], problems: List[str]) -> None:
    if len(c_types) != len(declared):
        problems.append(f"{what}: {len(c_types)} in the header, {len(declared)} declared")
        return
    for i, (c, d) in enumerate(zip(c_types, declared)):
        ok = accepted(c)
        if not any(_same(d, a) for a in ok):
            problems.append(f"{what} #{i}: the header's {c!r} is not declared as {d!r} (expected one of {ok})")


def test_the_header_parser_finds_the_functions() -> None:
    h = header_functions()
    assert len(h) >= 40, sorted(h)
    assert h["wsprune_session_create"] == (
        "enum wsprune_status", ["const char *", "const char *", "char *", "size_t", "struct wsprune_error **"])
    assert h["wsprune_version"] == ("const char *", [])


def test_every_header_function_is_declared_and_nothing_else() -> None:
    header = set(header_functions())
    declared = set(_lib.FUNCTIONS)
    assert header - declared == set(), "in include/wsprune.h but not declared in wsprune/_lib.py FUNCTIONS"
    assert declared - header == set(), "declared in wsprune/_lib.py FUNCTIONS but not in include/wsprune.h"


def test_every_declaration_has_the_header_types() -> None:
    problems: List[str] = []
    for name, (c_result, c_params) in header_functions().items():
        if name not in _lib.FUNCTIONS:
            continue  # reported by the test above
        restype, argtypes = _lib.FUNCTIONS[name]
        if not any(_same(restype, a) for a in accepted(c_result, result=True)):
            problems.append(f"{name}: result {c_result!r} declared as {restype!r}")
        check(name, c_params, argtypes, problems)
    assert problems == []


def test_the_loaded_functions_carry_the_declarations() -> None:
    for name, (restype, argtypes) in _lib.FUNCTIONS.items():
        if name in _lib.REQUIRED or hasattr(_lib.lib, name):
            f = getattr(_lib.lib, name)
            assert f.restype is restype and list(f.argtypes) == list(argtypes), name


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_struct_mirrors_match_the_header(name: str) -> None:
    fields = header_struct(name)
    mirror: List[Tuple[str, Any]] = list(STRUCTS[name]._fields_)
    assert [f for _, f in fields] == [f for f, _ in mirror], f"{name}: field names or order differ"
    problems: List[str] = []
    check(name, [t for t, _ in fields], [t for _, t in mirror], problems)
    assert problems == []


def test_the_callback_type_matches_the_header() -> None:
    m = re.search(r"typedef (\w+) \(\*wsprune_log_fn\)\(([^()]*)\);", header_text())
    assert m, "no wsprune_log_fn typedef in the header"
    problems: List[str] = []
    check("wsprune_log_fn", [split_decl(p)[0] for p in m.group(2).split(",")], _lib.LOG_FN._argtypes_, problems)
    assert problems == [] and m.group(1) == "void" and _lib.LOG_FN._restype_ is None


def test_required_is_exactly_what_the_package_calls() -> None:
    called = set()
    for path in PACKAGE.glob("*.py"):
        called |= set(re.findall(r"\blib\.(wsprune_\w+)", path.read_text()))
    assert len(called) >= 30, sorted(called)
    assert called - _lib.REQUIRED == set(), "called but not in _lib.REQUIRED"
    assert _lib.REQUIRED - called == set(), "in _lib.REQUIRED but never called"
    assert _lib.REQUIRED <= set(_lib.FUNCTIONS)

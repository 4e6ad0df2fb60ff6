"""call_by_name: the one way the kernel finds a function to call by its name, checking its signature.

People name functions for the kernel to call: `spawn CELL::FUNCTION` (a
task's entry), a command word (CELL::main), `sched CELL` (the policy's
CELL::pick_next).  Called with arguments it does not take, a function
reads or jumps wherever they point, so every such lookup goes through
find_function(): the name must be CELL::FUNCTION, the function public (no
leading "_"), in code, and its signature hash (the compiler's, which the
loader records from .theseus.sigs and the symfile carries for the
nano_core) must be the hash of the signature the caller expects, computed
here as the compiler does (sha256.py).  A refusal is one sentence naming
the function and what was expected (lookup_error()).

The compiler appends "@unsafe" to the hash of an unsafe cell's function
that its author did not mark @safe_interface.  find_function() takes
either (a person names what the shell, the policy or a trusted spawn
runs); find_safe_function(), for what a safe cell may ask the kernel to
call (task.spawn), takes only a safe cell's functions and marked ones.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load8, make_str
from kernel_src.namespace import NONE, sym_find_mem, sym_section, sym_sig
from kernel_src.section_table import KIND_TEXT, all_cells, all_sections
from kernel_src.sha256 import sha_begin, sha_byte, sha_str, sha_end

_why: Array[u8, 256] = [0] * 256     # the last refusal, one sentence
_why_len: u64 = 0
_found: bool = False                 # the last name named a function, refused or not
# Where the function part of the last name starts (after "::"), and its length.
_fn_at: u64 = 0
_fn_len: u64 = 0
_unmarked: bool = False              # the last function found belongs to an unsafe cell, unmarked


def lookup_error() -> str:
    """Why the last find_function() refused (one sentence)."""
    return make_str(addr_of(_why), _why_len)


def lookup_found() -> bool:
    """Did the last find_function() find something of that name (then refused it)?"""
    return _found


def _say_byte(c: u8) -> None:
    global _why_len
    if _why_len < 256:
        _why[_why_len] = c
        _why_len += 1


def _say(s: str) -> None:
    for i in range(len(s)):
        _say_byte(u8(ord(s[i])))


def _say_mem(a: u64, n: u64) -> None:
    # A name as typed: printable ASCII only, so the console stays text.
    for i in range(min(n, 96)):
        c: u8 = load8(a + i)
        if c < 32 or c > 126:
            c = 63
        _say_byte(c)


def _say_quoted(a: u64, n: u64) -> None:
    _say("'")
    _say_mem(a, n)
    _say("'")


def _say_signature(params: str, ret: str) -> None:
    # "f(u64, u64) -> u64" from the hash's own spelling "u64,u64" and "u64".
    _say_mem(_fn_at, _fn_len)
    _say("(")
    for i in range(len(params)):
        if ord(params[i]) == 44:
            _say(", ")
        else:
            _say_byte(u8(ord(params[i])))
    _say(") -> ")
    _say(ret)


def _refuse(a: u64, n: u64, why: str) -> u64:
    global _why_len
    _why_len = 0
    _say_quoted(a, n)
    _say(why)
    return NONE


def _split(a: u64, n: u64) -> bool:
    # Find the function part after the first "::"; both parts non-empty.
    global _fn_at, _fn_len
    for i in range(1, n):
        if load8(a + i - 1) == 58 and load8(a + i) == 58:
            _fn_at = a + i + 1
            _fn_len = n - i - 1
            return i > 1 and _fn_len > 0
    return False


def signature_hash(a: u64, n: u64, params: str, ret: str) -> u64:
    """The compiler's hash of function (n bytes at a) taking params ("u64,u64")
    and returning ret: SHA-256 of "NAME:PARAMS->RET", as theseus_nb/lang does."""
    return _hash(a, n, params, ret, "")


def _hash(a: u64, n: u64, params: str, ret: str, tail: str) -> u64:
    sha_begin()
    for i in range(n):
        sha_byte(load8(a + i))
    sha_byte(58)
    sha_str(params)
    sha_str("->")
    sha_str(ret)
    sha_str(tail)
    return sha_end()


def find_function(a: u64, n: u64, params: str, ret: str, role: str, core_ok: bool) -> u64:
    """The namespace symbol of the function named by the n bytes at a
    ("CELL::FUNCTION") if it may be called as role ("a task") with params
    and ret (spelled as in the hash: "u64", "u64"); else NONE, and
    lookup_error() says why.  core_ok: the nano_core's own functions may be
    named too."""
    global _found, _why_len, _unmarked
    _found = False
    _unmarked = False
    if not _split(a, n):
        return _refuse(a, n, " is not a function name of the form CELL::FUNCTION")
    if load8(_fn_at) == 95:
        return _refuse(a, n, " is private (its name starts with _): only a cell's public "
                             "functions can be called by name")
    s: u64 = sym_find_mem(a, n)
    if s == NONE:
        _why_len = 0
        _say("no such function ")
        _say_quoted(a, n)
        _say(": expected CELL::FUNCTION of a loaded cell")
        return NONE
    _found = True
    sec: u64 = sym_section(s)
    if sec == NONE or all_sections[sec].kind != KIND_TEXT:
        return _refuse(a, n, " is not a function")
    if all_cells[all_sections[sec].cell].core and not core_ok:
        return _refuse(a, n, " belongs to the nano_core, which runs its own functions: "
                             "name a function of a loaded cell")
    if sym_sig(s) == 0:
        _refuse(a, n, " has no recorded signature, so the kernel cannot check that it is ")
        _say_signature(params, ret)
        _say(" (a cell written in IR or assembly lists its functions in .theseus.sigs)")
        return NONE
    if sym_sig(s) == _hash(_fn_at, _fn_len, params, ret, "@unsafe"):
        _unmarked = True
    elif sym_sig(s) != signature_hash(_fn_at, _fn_len, params, ret):
        _refuse(a, n, " cannot run as ")
        _say(role)
        _say(": its signature is not ")
        _say_signature(params, ret)
        return NONE
    return s


def find_safe_function(a: u64, n: u64, params: str, ret: str, role: str) -> u64:
    """find_function() of a loaded cell's function for what a safe cell asks the
    kernel to call: a function of an unsafe cell must be marked @safe_interface
    (its author's promise), as when a safe cell calls it directly."""
    s: u64 = find_function(a, n, params, ret, role, False)
    if s != NONE and _unmarked:
        _refuse(a, n, " is a function of an unsafe cell that is not marked @safe_interface, "
                      "so a safe cell may not have the kernel call it (the shell's spawn "
                      "command may)")
        return NONE
    return s


def still_callable(s: u64, sig: u64) -> bool:
    """Is namespace symbol s still a function with signature hash sig?  (A
    cheap check for a function found once and looked up again later: a hot
    swap may have changed it.)"""
    sec: u64 = sym_section(s)
    return sym_sig(s) == sig and sec != NONE and all_sections[sec].kind == KIND_TEXT

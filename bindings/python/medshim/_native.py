"""Loading libmedshim and declaring the flat interface (include/medshim/flat.h).

Only the flat functions are used: int, int32, size_t, char* and caller
buffers. No struct is mirrored, so nothing here depends on a C layout.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Optional

ERANGE = -18

_lib: Optional[ctypes.CDLL] = None

# __stdcall on 32-bit Windows (MEDSHIM_FLATCALL), cdecl elsewhere.
if sys.platform == "win32" and ctypes.sizeof(ctypes.c_void_p) == 4:
    _Loader = ctypes.WinDLL  # type: ignore[attr-defined]
    _FUNCTYPE = ctypes.WINFUNCTYPE  # type: ignore[attr-defined]
else:
    _Loader = ctypes.CDLL
    _FUNCTYPE = ctypes.CFUNCTYPE

#: int adapter(const char *request_json, char *answer, size_t cap, void *payload)
ADAPTER_FN = _FUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                       ctypes.c_size_t, ctypes.c_void_p)

_OUT = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
_SIGNATURES = {
    "medshim_flat_version": _OUT,
    "medshim_flat_last_error": _OUT,
    "medshim_flat_last_result": _OUT,
    "medshim_flat_schedules_load": [ctypes.c_char_p, ctypes.c_char_p,
                                    ctypes.POINTER(ctypes.c_int32)],
    "medshim_flat_schedules_add": [ctypes.c_int32, ctypes.c_char_p] + _OUT,
    "medshim_flat_schedules_free": [ctypes.c_int32],
    "medshim_flat_report_outcome": [ctypes.c_int32, ctypes.c_char_p],
    "medshim_flat_decide": [ctypes.c_int32, ctypes.c_char_p] + _OUT,
    "medshim_flat_journal_open": [ctypes.c_char_p, ctypes.c_char_p,
                                  ctypes.POINTER(ctypes.c_int32)],
    "medshim_flat_journal_close": [ctypes.c_int32],
    "medshim_flat_key_generate": [ctypes.c_char_p],
    "medshim_flat_defer": [ctypes.c_int32, ctypes.c_char_p] + _OUT,
    "medshim_flat_list": [ctypes.c_int32] + _OUT,
    "medshim_flat_report": [ctypes.c_int32] + _OUT,
    "medshim_flat_export": [ctypes.c_int32, ctypes.c_char_p] + _OUT,
    "medshim_flat_verify": [ctypes.c_char_p, ctypes.c_char_p] + _OUT,
    "medshim_flat_step_begin": [ctypes.c_int32, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_size_t],
    "medshim_flat_step_end": [ctypes.c_int32, ctypes.c_char_p],
    "medshim_flat_replay": [ctypes.c_int32, ctypes.c_char_p, ADAPTER_FN,
                            ctypes.c_void_p] + _OUT,
}


def library_path() -> str:
    """$MEDSHIM_LIBRARY, else the system's libmedshim."""
    path = os.environ.get("MEDSHIM_LIBRARY")
    if path:
        return path
    found = ctypes.util.find_library("medshim")
    if found is None:
        raise OSError("libmedshim not found: install it or set MEDSHIM_LIBRARY "
                      "to the path of libmedshim.so / medshim.dll")
    return found


def lib() -> ctypes.CDLL:
    """The loaded library, with the flat functions declared."""
    global _lib
    if _lib is None:
        loaded = _Loader(library_path())
        for name, args in _SIGNATURES.items():
            fn = getattr(loaded, name)
            fn.argtypes = args
            fn.restype = ctypes.c_int
        _lib = loaded
    return _lib

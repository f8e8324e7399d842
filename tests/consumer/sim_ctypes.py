"""Load the installed libmedshim-sim.so with ctypes, as a Python QA harness
does, and ask the simulator for a person (1101).
usage: sim_ctypes.py LIBDIR"""
import ctypes
import json
import os
import sys

libdir = sys.argv[1]
# Its path alone: libmedshim-sim.so finds libmedshim.so.0 beside itself
# (RUNPATH $ORIGIN), with no LD_LIBRARY_PATH.
sim_lib = ctypes.CDLL(os.path.join(libdir, "libmedshim-sim.so"))
sim_lib.medshim_sim_open.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
sim_lib.medshim_sim_open.restype = ctypes.c_int
sim_lib.medshim_sim_msgid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
sim_lib.medshim_sim_call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_int)]
sim_lib.medshim_sim_call.restype = ctypes.c_int
sim_lib.medshim_sim_free.argtypes = [ctypes.c_void_p]
sim_lib.medshim_sim_close.argtypes = [ctypes.c_void_p]

sim = ctypes.c_void_p()
assert sim_lib.medshim_sim_open(ctypes.byref(sim), None) == 0
msgid = ctypes.create_string_buffer(31)
assert sim_lib.medshim_sim_msgid(sim, msgid) == 0
out = ctypes.c_void_p()
lost = ctypes.c_int()
rc = sim_lib.medshim_sim_call(sim, b"1101", msgid.value, b'{"data":{"psn_no":"P1"}}',
                              ctypes.byref(out), ctypes.byref(lost))
assert rc == 0 and not lost.value and out.value
answer = json.loads(ctypes.string_at(out.value).decode())
sim_lib.medshim_sim_free(out)
sim_lib.medshim_sim_close(sim)
assert answer["infcode"] == 0, answer
print("ctypes: medshim_sim_call 1101 answered infcode 0")

#!/usr/bin/env python3
"""A test-harness author's view of libmedshim through ctypes: ask for a
decision, journal a claim with the window the cashier was told
(medshim_decision_window + medshim_claim_set_window, as replay v2 needs),
and read it back. usage:
    harness.py LIBMEDSHIM.so SCHEDULE.json WORKDIR
"""
import ctypes as C
import os
import sys

lib = C.CDLL(sys.argv[1])
schedule, work = sys.argv[2].encode(), sys.argv[3]
lib.medshim_version.restype = C.c_char_p
lib.medshim_strerror.restype = C.c_char_p
print("libmedshim", lib.medshim_version().decode())


class Error(C.Structure):
    _fields_ = [("code", C.c_int), ("where", C.c_char * 128), ("text", C.c_char * 256)]


class JournalOptions(C.Structure):
    _fields_ = [("version", C.c_uint), ("flags", C.c_uint), ("key_file", C.c_char_p),
                ("key_fn", C.c_void_p), ("key_payload", C.c_void_p),
                ("segment_max_bytes", C.c_uint64)]


class Window(C.Structure):
    _fields_ = [("schedule_id", C.c_char_p), ("version", C.c_uint32),
                ("from_", C.c_int64), ("until", C.c_int64)]


class Advice(C.Structure):
    _fields_ = [("kind", C.c_int), ("at", C.c_int64), ("text", C.c_char_p)]


class ClaimWindow(C.Structure):  # medshim_claim_window
    _fields_ = [("version", C.c_uint), ("route", C.c_int), ("from_", C.c_int64),
                ("until", C.c_int64), ("schedule_id", C.c_char * 65),
                ("schedule_version", C.c_uint32)]


class ReplayWindow(C.Structure):
    _fields_ = [("route", C.c_int), ("from_", C.c_int64), ("until", C.c_int64)]


class Decision(C.Structure):
    _fields_ = [("version", C.c_uint), ("decision", C.c_int), ("reason", C.c_char_p),
                ("until", C.c_int64), ("has_window", C.c_int), ("window", Window),
                ("advice_count", C.c_size_t), ("advice", Advice * 4),
                ("has_replay", C.c_int), ("replay", ReplayWindow)]


def check(rc, what):
    if rc != 0:
        raise SystemExit("%s: %s" % (what, lib.medshim_strerror(rc).decode()))


# a decision
sset = C.c_void_p()
err = Error()
check(lib.medshim_schedule_set_new(C.byref(sset), None, C.byref(err)), "set")
check(lib.medshim_schedule_set_load_file(sset, schedule, C.byref(err)), "load")
d = Decision()
lib.medshim_verdict_name.restype = C.c_char_p
check(lib.medshim_schedule_decide(C.byref(d), sset, 1, b"330102", b"330106",
                                  C.c_int64(1644543000)), "decide")
print("decision:", lib.medshim_verdict_name(d.decision).decode(), "-", d.reason.decode())

# journal a claim
key = os.path.join(work, "harness.key").encode()
if not os.path.exists(key):
    check(lib.medshim_key_generate(key, C.byref(err)), "keygen")
line = (b'{"visit_id":"PY-1","service":"pharmacy","insured_admdvs":"330102",'
        b'"treated_admdvs":"330106","visit_time":"2022-02-11T10:00",'
        b'"total_fen":5600,"self_paid_fen":5600}')
claim = C.c_void_p()
check(lib.medshim_claim_parse_json(C.byref(claim), line, len(line), C.byref(err)), "parse")
# the window the cashier was told travels with the claim
w = ClaimWindow()
check(lib.medshim_decision_window(C.byref(w), C.byref(d)), "decision window")
if w.route != 0:
    check(lib.medshim_claim_set_window(claim, C.byref(w)), "set window")
opts = JournalOptions(1, 2, key, None, None, 0)  # MEDSHIM_JOURNAL_CREATE
j = C.c_void_p()
check(lib.medshim_journal_open(C.byref(j), os.path.join(work, "journal").encode(),
                               C.byref(opts), C.byref(err)), "open")
result = C.c_int()
check(lib.medshim_journal_defer(j, claim, C.byref(result)), "defer")
print("deferred:", {1: "stored", 2: "duplicate"}[result.value])
lib.medshim_journal_count.restype = C.c_size_t
print("claims in journal:", lib.medshim_journal_count(j))
stored = C.c_void_p()
check(lib.medshim_journal_get(C.byref(stored), None, j, b"PY-1"), "get")
back = ClaimWindow()
rc = lib.medshim_claim_window_get(C.byref(back), stored)
if rc == 0:
    print("window: route %d from %d until %d (%s)" % (back.route, back.from_, back.until,
                                                     back.schedule_id.decode()))
else:
    print("window: none (%s)" % lib.medshim_strerror(rc).decode())
lib.medshim_claim_free(stored)
lib.medshim_journal_close(j)
lib.medshim_claim_free(claim)
lib.medshim_schedule_set_free(sset)

"""libmedshim for Python: cutover decisions, the deferred-claim journal and
replay, over the library's flat interface (JSON text in and out).

    import medshim
    with medshim.Schedules("hangzhou-2022.json") as s, \\
         medshim.Journal("/var/lib/his/medshim", key_file="his.key", create=True) as j:
        d = s.decide("outpatient", "330102", "330106", at="2022-02-11T09:30")
        if d.verdict == "defer":
            claim["window"] = d.claim_window
            j.defer(claim)
            print(d.cashier_text)

Money is integer fen. Errors raise MedshimError with the library's code,
the field ("where"), the input line and a message that never holds
personal data.
"""
from __future__ import annotations

import ctypes
import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from . import _native

__all__ = ["MedshimError", "Decision", "Schedules", "Journal", "verify", "version",
           "Adapter", "Time", "key_generate", "step_begin", "step_end", "ExecAdapter"]

Time = Union[str, int, _dt.datetime]
#: An adapter: takes the request (kind "settle" or "probe", claim, replay_key,
#: msgid, attempt, steps) and returns the answer (outcome, settlement_id,
#: amounts in fen...). See include/medshim/flat.h.
Adapter = Callable[[Dict[str, Any]], Mapping[str, Any]]


class MedshimError(Exception):
    """A failure of libmedshim: `code` (negative, e.g. -1), `name`
    ("MEDSHIM_EINVAL"), `where` (field or JSON path, "" if none), `line`
    (input line, 0 if none) and `message`. Never holds personal data."""

    def __init__(self, code: int, name: str, where: str, line: int, message: str):
        super().__init__(f"{name} ({code}): {message}")
        self.code = code
        self.name = name
        self.where = where
        self.line = line
        self.message = message


def _last_error(rc: int) -> MedshimError:
    buf = ctypes.create_string_buffer(2048)
    need = ctypes.c_size_t()
    if _native.lib().medshim_flat_last_error(buf, len(buf), ctypes.byref(need)) != 0:
        return MedshimError(rc, "MEDSHIM_ERROR", "", 0, "error text unavailable")
    e = json.loads(buf.value.decode("utf-8"))
    return MedshimError(int(e.get("code", rc)) or rc, e.get("name", ""), e.get("where", ""),
                        int(e.get("line", 0)), e.get("message", ""))


def _check(rc: int) -> None:
    if rc != 0:
        raise _last_error(rc)


def _call_out(fn: Callable[..., int], *args: Any, ok: Iterable[int] = (0,)) -> Any:
    """Call a flat function with an output buffer; grow it on ERANGE (the
    answer of the call is kept by the library, so the call is not repeated)."""
    lib = _native.lib()
    buf = ctypes.create_string_buffer(16384)
    need = ctypes.c_size_t()
    rc = fn(*args, buf, len(buf), ctypes.byref(need))
    if rc == _native.ERANGE and need.value > len(buf):
        buf = ctypes.create_string_buffer(need.value)
        _check(lib.medshim_flat_last_result(buf, len(buf), ctypes.byref(need)))
        rc = 0
    if rc not in ok:
        raise _last_error(rc)
    return json.loads(buf.value.decode("utf-8"))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _time(t: Time) -> Union[str, int]:
    if isinstance(t, _dt.datetime):
        return t.isoformat()  # naive: China Standard Time
    return t


def _path(p: "Union[str, bytes, Any]") -> bytes:
    import os
    return os.fsencode(p)


def version() -> Dict[str, Any]:
    """{"library": "x.y.z", "flat": 2}"""
    return _call_out(_native.lib().medshim_flat_version)


@dataclass
class Decision:
    """The decision for one visit (see medshim_flat_decide in flat.h)."""

    verdict: str  #: "online", "try_online" or "defer"
    reason: str
    cashier_text: str  #: what to tell the cashier
    claim_window: Optional[Dict[str, Any]]  #: put in the claim as "window" before defer
    replay: Optional[Dict[str, Any]]  #: route, from, until of re-settlement
    advice: List[Dict[str, Any]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)
    #: why, as a stable code ("planned_stop", "degraded", "breaker_open", ...)
    reason_code: str = ""
    #: for the patient's receipt: where and from when the money comes back
    receipt_text: str = ""


class _Handle:
    _closer = ""

    def __init__(self) -> None:
        self._h = 0

    @property
    def handle(self) -> int:
        if self._h == 0:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._h

    def close(self) -> None:
        if self._h:
            h, self._h = self._h, 0
            _check(getattr(_native.lib(), self._closer)(h))

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class Schedules(_Handle):
    """A set of cutover notices (schedule files)."""

    _closer = "medshim_flat_schedules_free"

    def __init__(self, path: str, *, public_key_file: Optional[str] = None,
                 require_signed: bool = False) -> None:
        super().__init__()
        opts: Dict[str, Any] = {"require_signed": require_signed}
        if public_key_file is not None:
            opts["public_key_file"] = public_key_file
        h = ctypes.c_int32()
        _check(_native.lib().medshim_flat_schedules_load(_path(path), _json(opts),
                                                         ctypes.byref(h)))
        self._h = h.value

    def add(self, path: str) -> Dict[str, Any]:
        """Load one more notice (an amendment supersedes); the set's notices."""
        return _call_out(_native.lib().medshim_flat_schedules_add, self.handle, _path(path))

    def report_outcome(self, region: str, ok: bool, at: Optional[Time] = None) -> None:
        """After each online attempt: repeated failures of a region open its
        circuit breaker (decisions become defer until a probe succeeds)."""
        if at is None:
            at = int(_dt.datetime.now(_dt.timezone.utc).timestamp())
        _check(_native.lib().medshim_flat_report_outcome(
            self.handle, _json({"region": region, "ok": ok, "at": _time(at)})))

    def decide(self, service: str, insured: str, treated: Optional[str] = None,
               at: Optional[Time] = None, lang: str = "en") -> Decision:
        """Decide for a visit of `service` ("outpatient", "pharmacy"...) by a
        person insured in region `insured` treated in `treated`, at `at`
        (ISO text, Unix seconds or datetime; default now). `lang` ("en" or
        "zh") is the language of the cashier and receipt texts."""
        if at is None:
            at = int(_dt.datetime.now(_dt.timezone.utc).timestamp())
        visit: Dict[str, Any] = {"service": service, "insured_admdvs": insured,
                                 "at": _time(at), "lang": lang}
        if treated is not None:
            visit["treated_admdvs"] = treated
        d = _call_out(_native.lib().medshim_flat_decide, self.handle, _json(visit))
        return Decision(d["decision"], d.get("reason", ""), d.get("cashier_text", ""),
                        d.get("claim_window"), d.get("replay"), d.get("advice", []), d,
                        reason_code=d.get("reason_code", ""),
                        receipt_text=d.get("receipt_text", ""))


class Journal(_Handle):
    """The encrypted claim journal in a directory."""

    _closer = "medshim_flat_journal_close"

    def __init__(self, directory: str, *, key_file: str, create: bool = False,
                 mode: str = "write") -> None:
        """mode: "write" (a cashier process), "replay", "readonly", "salvage"."""
        super().__init__()
        opts = {"key_file": key_file, "create": create, "mode": mode}
        h = ctypes.c_int32()
        _check(_native.lib().medshim_flat_journal_open(_path(directory), _json(opts),
                                                       ctypes.byref(h)))
        self._h = h.value

    def defer(self, claims: Union[Mapping[str, Any], Iterable[Mapping[str, Any]], str]
              ) -> List[Dict[str, Any]]:
        """Journal one claim (a dict), several (a list: one fdatasync) or JSON
        lines (str) durably. Every claim is checked first: a bad one raises
        MedshimError naming its line and field, and nothing is stored.
        Returns one result per claim: visit_id, result ("stored",
        "duplicate", "conflict"), receipt (keep it with the visit)."""
        if isinstance(claims, str):
            text = claims.encode("utf-8")
        else:
            items = [claims] if isinstance(claims, Mapping) else list(claims)
            text = b"\n".join(_json(c) for c in items)
        return _call_out(_native.lib().medshim_flat_defer, self.handle, text)["results"]

    def list(self) -> List[Dict[str, Any]]:
        """Every claim with its state, without personal data."""
        return _call_out(_native.lib().medshim_flat_list, self.handle)["claims"]

    def report(self) -> Dict[str, Any]:
        """Counts by state and the refunds due (settled claims)."""
        return _call_out(_native.lib().medshim_flat_report, self.handle)

    def export_manual(self, *, reveal: bool = False, lang: str = "en") -> List[Dict[str, Any]]:
        """The claims for manual reimbursement at the agency (states manual
        and expired) with the materials to bring and the last day; names
        and ID numbers masked unless `reveal` (the agency needs them)."""
        return _call_out(_native.lib().medshim_flat_export, self.handle,
                         _json({"reveal": reveal, "lang": lang}))["claims"]

    def replay(self, adapter: Adapter, *, institution_code: str,
               at: Optional[Time] = None, **options: Any) -> Dict[str, Any]:
        """Replay the claims whose window is open through `adapter`, a
        function from the request dict to the answer dict. An exception in
        the adapter counts as an unknown outcome (the claim stays in doubt
        and is probed later). Options: max_attempts, concurrency, dry_run,
        confirm_time, expire_now, no_visibility_delay, seed, steps ("host":
        the adapter records each platform request with step_begin/step_end,
        as ExecAdapter does)."""
        opts: Dict[str, Any] = dict(options, institution_code=institution_code)
        if at is not None:
            opts["at"] = _time(at)

        def call(request: bytes, answer: int, cap: int, _payload: Any) -> int:
            try:
                reply = _json(dict(adapter(json.loads(request.decode("utf-8")))))
            except Exception:  # never let an exception cross the C frames
                return -1
            if len(reply) + 1 > cap:
                return -1
            ctypes.memmove(answer, reply + b"\0", len(reply) + 1)
            return 0

        fn = _native.ADAPTER_FN(call)  # kept alive for the call
        return _call_out(_native.lib().medshim_flat_replay, self.handle, _json(opts), fn,
                         None)


def step_begin(ctx: int, infno: str) -> str:
    """During an adapter call (request["ctx"]): record a platform request
    durably before sending it; returns the msgid to send. Raises when it
    was not recorded: then do not send."""
    buf = ctypes.create_string_buffer(31)
    _check(_native.lib().medshim_flat_step_begin(ctx, infno.encode("ascii"), buf, len(buf)))
    return buf.value.decode("ascii")


def step_end(ctx: int, step: Mapping[str, Any]) -> None:
    """During an adapter call: record what came back for a step ("msgid",
    "state" ok/failed/unknown, "mdtrt_id", "setl_id", amounts in fen...)."""
    _check(_native.lib().medshim_flat_step_end(ctx, _json(dict(step))))


class ExecAdapter:
    """An adapter program speaking the exec protocol of docs/replay.md
    (what `medshim replay --exec-persistent CMD` runs, e.g. medshim-sim),
    kept running and bridged to Journal.replay(..., steps="host"): its
    step_begin/step_end lines are recorded in the journal before it may
    send anything. One request at a time."""

    def __init__(self, argv: List[str]) -> None:
        import subprocess
        import threading
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      close_fds=True)
        self._lock = threading.Lock()
        self._id = 0

    def _send(self, obj: Mapping[str, Any]) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(_json(dict(obj)) + b"\n")
        self._proc.stdin.flush()

    def __call__(self, request: Dict[str, Any]) -> Dict[str, Any]:
        with self._lock:
            self._id += 1
            rid = self._id
            ctx = int(request.pop("ctx"))
            request.pop("kind", None)
            request.pop("msgid", None)
            self._send(dict(request, id=rid))
            assert self._proc.stdout is not None
            while True:
                line = self._proc.stdout.readline()
                if not line:
                    raise EOFError("the adapter program closed its output")
                msg = json.loads(line)
                kind = msg.get("type")
                if kind == "result":
                    return msg
                try:
                    if kind == "step_begin":
                        self._send({"type": "msgid", "id": rid,
                                    "msgid": step_begin(ctx, msg["infno"])})
                    elif kind == "step_end":
                        step_end(ctx, msg)
                        self._send({"type": "recorded", "id": rid})
                    else:
                        raise ValueError("unexpected line from the adapter program")
                except MedshimError as e:
                    self._send({"type": "error", "id": rid, "message": e.message})

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)

    def __enter__(self) -> "ExecAdapter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def key_generate(path: str) -> None:
    """Create a key file of 32 random bytes, mode 0600; never overwrites."""
    _check(_native.lib().medshim_flat_key_generate(_path(path)))


def verify(directory: str, *, key_file: str) -> Dict[str, Any]:
    """Check a journal without writing: {"intact": bool, "damage": ..., ...}.
    Damage is reported in the result (intact False), not raised."""
    return _call_out(_native.lib().medshim_flat_verify, _path(directory),
                     _json({"key_file": key_file}), ok=(0, -6))

#!/usr/bin/env python3
"""A fake HIS adapter for the exec protocol tests (docs/replay.md), able to
misbehave on purpose. Per-call by default; --persistent serves many
requests, each in its own thread, multiplexed by id.

  fake_adapter.py MODE [--persistent] [--pidfile F] [--sleep S] [--log F]
                       [--fds F] [--spawn-bg]

MODE: settle       2201 + 2207 steps, then a settled result that adds up
      reject       a rejected result (code 1406)
      negative     settled with a negative amount
      badsum       settled with amounts that do not add up
      emptyid      settled with an empty settlement_id
      longid       settled with a 65-byte settlement_id
      realamount   settled with total_fen 12.5
      badtime      settled with setl_time "2022/03/15"
      garbage      a line that is not JSON
      noresult     steps, then exit 0 without a result
      exit3        a good result, then exit status 3
      hang         read the request, then sleep forever
      background   start a background child that holds stdout, then settle
      slowstdin    sleep before reading stdin (per-call concurrency test)
      notfound     probes answer not_found, settles settle
      crash        persistent: die on the 2nd request
The settlement amounts: fund 70 %, account 10 %, cash the rest of the
claim's total_fen.  --log appends one line per request: "type visit_id"."""
import json
import os
import subprocess
import sys
import threading
import time

args = sys.argv[1:]
mode = args[0] if args else "settle"
persistent = "--persistent" in args


def opt(name, default=None):
    if name in args:
        return args[args.index(name) + 1]
    return default


pidfile = opt("--pidfile")
sleep_s = float(opt("--sleep", "0"))
logfile = opt("--log")
out_lock = threading.Lock()
waiters = {}
waiters_lock = threading.Lock()

if pidfile:
    with open(pidfile, "a") as f:
        f.write("%d\n" % os.getpid())


def send(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


class Conv:
    def __init__(self):
        self.cv = threading.Condition()
        self.answers = []

    def put(self, a):
        with self.cv:
            self.answers.append(a)
            self.cv.notify()

    def get(self):
        with self.cv:
            while not self.answers:
                self.cv.wait()
            return self.answers.pop(0)


def ask(rid, conv, obj, reader):
    send(obj)
    if reader is not None:  # per-call: read our own answer
        line = reader.readline()
        if not line:
            sys.exit(0)
        return json.loads(line)
    return conv.get()


def serve(req, conv, reader):
    rid = req["id"]
    claim = req["claim"]
    total = claim["total_fen"]
    if logfile:
        with open(logfile, "a") as f:
            f.write("%s %s\n" % (req["type"], claim["visit_id"]))
    if sleep_s:
        time.sleep(sleep_s)
    if mode == "hang":
        if "--spawn-bg" in args:  # a grandchild in the background too
            p = subprocess.Popen(["sleep", "3600"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if pidfile:
                with open(pidfile, "a") as f:
                    f.write("%d\n" % p.pid)
        time.sleep(3600)
    if req["type"] == "probe":
        if mode == "notfound" or mode == "settle":
            # settle-mode probes look at the steps: a 2207 that came back ok
            for s in req["steps"]:
                if s.get("infno") == "2207" and s.get("state") == "ok":
                    send(result_settled(rid, total, s.get("setl_id", "S")))
                    return
            send({"type": "result", "id": rid, "status": "not_found"})
            return
        send({"type": "result", "id": rid, "status": "unknown",
              "message": "fake cannot tell"})
        return
    if mode == "reject":
        send({"type": "result", "id": rid, "status": "rejected",
              "code": "1406", "message": "person not found"})
        return
    if mode == "garbage":
        with out_lock:
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
        return
    a = ask(rid, conv, {"type": "step_begin", "id": rid, "infno": "2201"},
            reader)
    if a.get("type") != "msgid":
        send({"type": "result", "id": rid, "status": "unknown",
              "message": "step_begin refused"})
        return
    a = ask(rid, conv, {"type": "step_end", "id": rid, "msgid": a["msgid"],
                        "state": "ok", "mdtrt_id": "MD" + str(rid)}, reader)
    b = ask(rid, conv, {"type": "step_begin", "id": rid, "infno": "2207"},
            reader)
    setl_id = "SETL-%s" % claim["visit_id"]
    ask(rid, conv, {"type": "step_end", "id": rid, "msgid": b["msgid"],
                    "state": "ok", "setl_id": setl_id,
                    "setl_time": "2022-03-16 10:00:01"}, reader)
    if mode == "noresult":
        sys.exit(0)
    r = result_settled(rid, total, setl_id)
    if mode == "negative":
        r["acct_paid_fen"] = -1
        r["patient_paid_fen"] += 1
    elif mode == "badsum":
        r["fund_paid_fen"] += 1
    elif mode == "emptyid":
        r["settlement_id"] = ""
    elif mode == "longid":
        r["settlement_id"] = "X" * 65
    elif mode == "realamount":
        r["total_fen"] = 12.5
    elif mode == "badtime":
        r["setl_time"] = "2022/03/15"
    if mode == "background":
        # a grandchild that keeps our stdout open for a long time
        p = subprocess.Popen(["sleep", "300"], stdout=sys.stdout,
                             stderr=subprocess.DEVNULL)
        if pidfile:
            with open(pidfile, "a") as f:
                f.write("%d\n" % p.pid)
    send(r)
    if mode == "exit3":
        sys.exit(3)


def result_settled(rid, total, setl_id):
    fund = total * 70 // 100
    acct = total * 10 // 100
    return {"type": "result", "id": rid, "status": "settled",
            "settlement_id": setl_id, "mdtrt_id": "MD" + str(rid),
            "setl_time": "2022-03-16 10:00:01", "total_fen": total,
            "fund_paid_fen": fund, "acct_paid_fen": acct,
            "patient_paid_fen": total - fund - acct, "hospital_share_fen": 0}


def main():
    if "--fds" in args:  # record the descriptors this adapter holds
        fds = []
        for x in os.listdir("/proc/self/fd"):
            try:
                os.fstat(int(x))  # the listing's own fd is closed by now
                fds.append(x)
            except OSError:
                pass
        with open(opt("--fds"), "a") as f:
            f.write(" ".join(sorted(fds)) + "\n")
    if mode == "slowstdin":
        time.sleep(sleep_s or 1)
    if not persistent:
        line = sys.stdin.readline()
        if not line:
            return
        req = json.loads(line)
        serve(req, None, sys.stdin)
        return
    n = 0
    for line in sys.stdin:
        msg = json.loads(line)
        rid = msg.get("id")
        if msg["type"] in ("settle", "probe"):
            n += 1
            if mode == "crash" and n == 2:
                os._exit(9)
            conv = Conv()
            with waiters_lock:
                waiters[rid] = conv
            threading.Thread(target=serve, args=(msg, conv, None),
                             daemon=True).start()
        else:
            with waiters_lock:
                conv = waiters.get(rid)
            if conv is not None:
                conv.put(msg)


main()

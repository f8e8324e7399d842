#!/usr/bin/env python3
"""A QA harness on the medshim Python package (bindings/python): ask for a
decision, journal a claim with the window the cashier was told, replay it
against a simulated platform and report the refund. usage:
    harness.py LIBMEDSHIM.so SCHEDULE.json WORKDIR
(with the package installed, `pip install bindings/python`, or run from the
source tree: it falls back to ../../bindings/python).
"""
import os
import pathlib
import sys

os.environ["MEDSHIM_LIBRARY"] = sys.argv[1]
try:
    import medshim
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import medshim

schedule, work = sys.argv[2], sys.argv[3]
print("libmedshim", medshim.version()["library"])

with medshim.Schedules(schedule) as s:
    d = s.decide("pharmacy", "330102", "330106", at="2022-02-11T10:00")
print("decision:", d.verdict, "-", d.reason)
print("cashier:", d.cashier_text)

key = os.path.join(work, "harness.key")
if not os.path.exists(key):
    medshim.key_generate(key)
claim = {"visit_id": "PY-1", "service": "pharmacy", "insured_admdvs": "330102",
         "treated_admdvs": "330106", "visit_time": "2022-02-11T10:00",
         "total_fen": 5600, "self_paid_fen": 5600,
         "patient": {"psn_no": "33000000000000000099"}}
if d.claim_window:
    claim["window"] = d.claim_window  # replay uses exactly what the cashier was told


def platform(req):
    """A stand-in platform: settles everything, 70 % funds, 10 % account."""
    if req["kind"] == "probe":
        return {"outcome": "not_found"}
    total = req["claim"]["total_fen"]
    fund, acct = total * 7 // 10, total // 10
    return {"outcome": "settled", "settlement_id": "SIM-" + req["replay_key"][-8:],
            "total_fen": total, "fund_paid_fen": fund, "acct_paid_fen": acct,
            "patient_paid_fen": total - fund - acct}


with medshim.Journal(os.path.join(work, "journal"), key_file=key, create=True) as j:
    result = j.defer(claim)[0]
    print("deferred:", result["result"], "receipt", result["receipt"])
    print("claims in journal:", len(j.list()))
    summary = j.replay(platform, institution_code="H33010600001", at="2022-03-20T10:00",
                       no_visibility_delay=True)
    print("replayed: settled %d, in doubt %d" % (summary["settled"], summary["in_doubt"]))
    for r in j.report()["refunds"]:
        print("refund %s: %d.%02d yuan" % (r["visit_id"], r["refund_fen"] // 100,
                                           r["refund_fen"] % 100))

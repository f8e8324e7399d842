// The issue-13 scenario through the C# binding, as a plain test runner
// (Debian's Mono has no test framework we could rely on in CI): each test
// is a method; the exit status is the number of failures.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Medshim;

static class MedshimTests
{
    const string IdNo = "330102199001011234";
    const string Name = "张三";
    const string Psn = "33000000000000000012";
    static string dir, key, journal, hangzhou;

    static void Assert(bool ok, string what)
    {
        if (!ok) throw new Exception("assertion failed: " + what);
    }

    static void Eq(object want, object got, string what)
    {
        if (!Equals(want, got)) throw new Exception(what + ": want " + want + ", got " + (got ?? "null"));
    }

    static T Throws<T>(Action a, string what) where T : Exception
    {
        try { a(); } catch (T e) { return e; }
        throw new Exception(what + ": no " + typeof(T).Name);
    }

    static Dictionary<string, object> Claim(string visitId, Dictionary<string, object> window)
    {
        var c = new Dictionary<string, object> {
            { "visit_id", visitId }, { "service", "outpatient" }, { "insured_admdvs", "330102" },
            { "treated_admdvs", "330106" }, { "visit_time", "2022-02-11T09:30" },
            { "total_fen", 23850 }, { "self_paid_fen", 23850 },
            { "patient", new Dictionary<string, object> { { "name", Name }, { "id_no", IdNo }, { "psn_no", Psn } } } };
        if (window != null) c["window"] = window;
        return c;
    }

    // A simulated platform: settles each visit once, answers probes, loses one answer.
    class Platform
    {
        public readonly Dictionary<string, Dictionary<string, object>> Settled = new Dictionary<string, Dictionary<string, object>>();
        public readonly List<string> Calls = new List<string>();
        public int Lose = 1;

        public Dictionary<string, object> Call(Dictionary<string, object> req)
        {
            lock (this)
            {
                Calls.Add((string)req["kind"]);
                var k = (string)req["replay_key"];
                if ((string)req["kind"] == "probe")
                    return Settled.ContainsKey(k) ? Settled[k] : new Dictionary<string, object> { { "outcome", "not_found" } };
                var c = (Dictionary<string, object>)req["claim"];
                Eq(IdNo, ((Dictionary<string, object>)c["patient"])["id_no"], "adapter sees the person");
                long total = (long)c["total_fen"], fund = total * 7 / 10, acct = total / 10;
                var a = new Dictionary<string, object> {
                    { "outcome", "settled" }, { "settlement_id", "S" + c["visit_id"] },
                    { "total_fen", total }, { "fund_paid_fen", fund }, { "acct_paid_fen", acct },
                    { "patient_paid_fen", total - fund - acct }, { "setl_time", 1647741600L } };
                Settled[k] = a;
                if (Lose > 0) { Lose--; throw new IOException("answer lost"); }
                return a;
            }
        }
    }

    static void Version()
    {
        Eq(2L, Flat.Version()["flat"], "flat version");
    }

    static void DecideInTheHangzhouStop()
    {
        using (var s = new Schedules(hangzhou))
        {
            var d = s.Decide("outpatient", "330102", "330106", "2022-02-11T09:30");
            Eq("defer", d.Verdict, "verdict");
            Assert(d.CashierText.Contains("Collect the full amount"), "cashier text");
            Eq("planned_stop", d.ReasonCode, "reason code");
            Assert(d.ReceiptText.Contains("you paid the full amount"), "receipt text");
            Assert(s.Decide("outpatient", "330102", "330106", "2022-02-11T09:30", "zh").CashierText.Contains("医保"), "zh text");
            Eq("hospital", d.Replay["route"], "route");
            Assert(d.ClaimWindow != null, "claim window");
            Eq("online", s.Decide("outpatient", "330102", null, "2022-02-09T23:59").Verdict, "before");
            Eq("try_online", s.Decide("pharmacy", "330185", null, "2022-02-16T10:00").Verdict, "after");
            for (int i = 0; i < 5; i++) s.ReportOutcome("330102", false, "2022-03-01T09:59");
            Eq("defer", s.Decide("outpatient", "330102", null, "2022-03-01T10:00").Verdict, "breaker open");
            Eq("region", Throws<MedshimException>(() => s.ReportOutcome("3301", true, "2022-03-01T10:00"), "bad region").Where, "region");
            var e = Throws<MedshimException>(() => s.Decide("dentistry", "330102", null, "2022-02-11"), "bad service");
            Eq("service", e.Where, "where");
            Eq(-1, e.Code, "code");
        }
    }

    static void ExportForTheAgency()
    {
        var agency = new Dictionary<string, object> {
            { "route", "agency" }, { "from", "2022-03-15T00:00+08:00" }, { "until", "2023-01-01T00:00+08:00" } };
        using (var j = new Journal(journal, key))
        {
            var c = Claim("ZY-1", agency);
            c["service"] = "inpatient";
            j.Defer(new[] { c });
            Eq(0, j.ExportManual(false, "en").Count, "nothing manual yet");
            j.Replay(new Platform().Call, new Dictionary<string, object> {
                { "institution_code", "H33010600001" }, { "at", "2022-03-20T10:00" } });
            var rows = j.ExportManual(false, "en");
            Eq(1, rows.Count, "one for the agency");
            var row = (Dictionary<string, object>)rows[0];
            Eq("manual", row["state"], "state");
            Eq("2022-12-31", row["deadline_last_day"], "last day");
            Assert(!Json.Write(rows).Contains(Name), "masked");
            Assert(Json.Write(j.ExportManual(true, "zh")).Contains(Name), "revealed");
        }
    }

    static void CashierFlowReplayAndRefunds()
    {
        var platform = new Platform();
        using (var s = new Schedules(hangzhou))
        using (var j = new Journal(journal, key))
        {
            var d = s.Decide("outpatient", "330102", "330106", "2022-02-11T09:30");
            var r = j.Defer(new[] { Claim("MZ-1", d.ClaimWindow), Claim("MZ-2", d.ClaimWindow) });
            Eq("stored", ((Dictionary<string, object>)r[0])["result"], "stored");
            Assert(((string)((Dictionary<string, object>)r[1])["receipt"]).StartsWith("R1-"), "receipt");
            Eq("duplicate", j.Defer(Claim("MZ-1", d.ClaimWindow))["result"], "duplicate");
            var listed = Json.Write(j.List());
            Assert(!listed.Contains(Name) && !listed.Contains(IdNo), "no personal data in list");
            var opts = new Dictionary<string, object> {
                { "institution_code", "H33010600001" }, { "at", "2022-03-20T10:00" },
                { "no_visibility_delay", true }, { "seed", 1 } };
            var first = j.Replay(platform.Call, opts);   // MZ-1's answer lost: probed, settled
            Eq(1L, first["settled"], "first run settled");
            Eq(0L, first["in_doubt"], "first run in doubt");
            Assert(platform.Calls.Contains("probe"), "probed");
            var second = j.Replay(platform.Call, opts);  // MZ-2 waited behind MZ-1
            Eq(2L, second["settled"], "second run settled");
            Eq(2, platform.Calls.Count(c => c == "settle"), "settle calls");
            var rep = j.Report();
            Eq(2L, rep["refunds_due_count"], "refunds due");
            Eq(2L * 19080, rep["refunds_due_fen"], "refund fen");
            var f = (Dictionary<string, object>)((List<object>)rep["refunds"])[0];
            Eq(19080L, f["refund_fen"], "refund of MZ-1");
        }
        var v = Flat.Verify(journal, key);
        Eq(true, v["intact"], "intact");
        Eq(2L, v["claims"], "claims verified");
    }

    // The full sequence (1101, 2201, 2204, 2206, 2207), every request recorded
    // first, against medshim-sim with lost answers: each visit settled once.
    static void ReplayAgainstMedshimSim()
    {
        var sim = Environment.GetEnvironmentVariable("MEDSHIM_SIM_TOOL");
        if (sim == null) { Console.WriteLine("skip ReplayAgainstMedshimSim: MEDSHIM_SIM_TOOL not given"); return; }
        var ledger = Path.Combine(dir, "ledger");
        Dictionary<string, object> summary = null;
        using (var s = new Schedules(hangzhou))
        using (var j = new Journal(journal, key))
        {
            var d = s.Decide("outpatient", "330102", "330106", "2022-02-11T09:30");
            j.Defer(Enumerable.Range(0, 6).Select(i =>
            {
                var c = Claim("SIM-" + i, d.ClaimWindow);
                c["patient"] = new Dictionary<string, object> { { "psn_no", "3300000000000000" + i.ToString("0000") } };
                return c;
            }).ToList());
            var opts = new Dictionary<string, object> {
                { "institution_code", "H33010600001" }, { "at", "2022-03-20T10:00" },
                { "no_visibility_delay", true }, { "steps", "host" }, { "seed", 3 } };
            using (var a = new ExecAdapter(sim, "--ledger " + ledger + " --lost-permille 300 --seed 5 --institution H33010600001"))
            {
                for (int k = 0; k < 6; k++)
                {
                    summary = j.Replay(a.Call, opts);
                    if ((long)summary["settled"] == 6) break;
                }
            }
            Eq(6L, summary["settled"], "settled");
            Eq(0L, summary["in_doubt"], "in doubt");
            Eq(6L, j.Report()["refunds_due_count"], "refunds due");
        }
        var psi = new System.Diagnostics.ProcessStartInfo(sim, "--stats --ledger " + ledger) { UseShellExecute = false, RedirectStandardOutput = true };
        using (var p = System.Diagnostics.Process.Start(psi))
        {
            var stats = (Dictionary<string, object>)Json.Parse(p.StandardOutput.ReadToEnd().Trim());
            p.WaitForExit();
            Eq(0L, stats["double_settlements"], "double settlements");
            Eq(0L, stats["open_partial_sequences"], "open partial sequences");
            Eq(6L, stats["active_settlements"], "settlements");
            Assert((long)stats["lost_answers"] > 0, "answers were lost");
        }
    }

    static void BadClaimNamesFieldAndLine()
    {
        using (var j = new Journal(journal, key))
        {
            var bad = Claim("MZ-2", null);
            bad["total_fen"] = -5;
            bad["self_paid_fen"] = 0;
            var e = Throws<MedshimException>(() => j.Defer(new[] { Claim("MZ-1", null), bad }), "bad claim");
            Eq("MEDSHIM_EINVAL", e.Name, "name");
            Eq("total_fen", e.Where, "where");
            Eq(2L, e.Line, "line");
            Assert(e.Message.Contains("line 2: total_fen"), "message names line and field");
            foreach (var p in new[] { Name, IdNo, Psn }) Assert(!e.Message.Contains(p), "no personal data");
            Eq(0, j.List().Count, "nothing stored");
            Eq("MEDSHIM_EPARSE", Throws<MedshimException>(() => j.DeferLines("{\"visit_id\":"), "parse").Name, "parse");
        }
    }

    static void HandlesAndErrors()
    {
        var s = new Schedules(hangzhou);
        s.Dispose();
        s.Dispose();
        Throws<ObjectDisposedException>(() => s.Decide("outpatient", "330102", null, "2022-02-11"), "disposed");
        Eq("MEDSHIM_ENOTFOUND", Throws<MedshimException>(() => new Journal(journal, key, false), "no journal").Name, "open");
        Eq("MEDSHIM_EEXIST", Throws<MedshimException>(() => Flat.KeyGenerate(key), "key").Name, "keygen");
    }

    static void LargeAnswersGrowTheBuffer()
    {
        using (var j = new Journal(journal, key))
        {
            var many = Enumerable.Range(0, 300).Select(i => Claim("BIG-" + i.ToString("000"), null)).ToList();
            Eq(300, j.Defer(many).Count, "deferred");
            Eq(300, j.List().Count, "listed");
        }
    }

    static int Main()
    {
        var src = Environment.GetEnvironmentVariable("MEDSHIM_SOURCE_DIR") ?? "../..";
        hangzhou = Path.Combine(src, "examples", "schedules", "hangzhou-2022.json");
        var tests = new Dictionary<string, Action> {
            { "Version", Version }, { "DecideInTheHangzhouStop", DecideInTheHangzhouStop },
            { "CashierFlowReplayAndRefunds", CashierFlowReplayAndRefunds },
            { "ReplayAgainstMedshimSim", ReplayAgainstMedshimSim },
            { "BadClaimNamesFieldAndLine", BadClaimNamesFieldAndLine },
            { "ExportForTheAgency", ExportForTheAgency },
            { "HandlesAndErrors", HandlesAndErrors }, { "LargeAnswersGrowTheBuffer", LargeAnswersGrowTheBuffer } };
        int failed = 0;
        foreach (var t in tests)
        {
            dir = Path.Combine(Path.GetTempPath(), "medshim-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            key = Path.Combine(dir, "his.key");
            journal = Path.Combine(dir, "journal");
            try
            {
                Flat.KeyGenerate(key);
                t.Value();
                Console.WriteLine("ok   " + t.Key);
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine("FAIL " + t.Key + ": " + e);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
        Console.WriteLine("{0} tests, {1} failed", tests.Count, failed);
        return failed;
    }
}

// The idiomatic wrapper: Schedules and Journal (IDisposable), MedshimException
// with the library's code, field, line and message (never personal data).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Medshim
{
    /// <summary>A failure of libmedshim. Never holds personal data.</summary>
    public class MedshimException : Exception
    {
        public int Code { get; private set; }       // e.g. -1
        public string Name { get; private set; }    // "MEDSHIM_EINVAL"
        public string Where { get; private set; }   // the field, "" if none
        public long Line { get; private set; }      // the input line, 0 if none
        public string Text { get; private set; }

        public MedshimException(int code, string name, string where, long line, string text)
            : base(name + " (" + code + "): " + text)
        {
            Code = code; Name = name; Where = where; Line = line; Text = text;
        }
    }

    /// <summary>Functions without a handle, and the buffer plumbing.</summary>
    public static class Flat
    {
        const int ERANGE = -18;
        internal const int ECORRUPT = -6;
        internal delegate int OutCall(byte[] o, UIntPtr cap, out UIntPtr needed);

        internal static byte[] Z(string s)
        {
            if (s == null) return null;
            byte[] b = Encoding.UTF8.GetBytes(s);
            Array.Resize(ref b, b.Length + 1);
            return b;
        }

        internal static string Text(byte[] b)
        {
            int n = Array.IndexOf(b, (byte)0);
            return Encoding.UTF8.GetString(b, 0, n < 0 ? b.Length : n);
        }

        internal static MedshimException Error(int rc)
        {
            var buf = new byte[2048];
            UIntPtr need;
            if (Native.medshim_flat_last_error(buf, (UIntPtr)buf.Length, out need) != 0)
                return new MedshimException(rc, "MEDSHIM_ERROR", "", 0, "error text unavailable");
            var e = Json.Object(Text(buf));
            return new MedshimException((int)(long)e["code"], (string)e["name"], (string)e["where"],
                                        (long)e["line"], (string)e["message"]);
        }

        internal static void Check(int rc)
        {
            if (rc != 0) throw Error(rc);
        }

        // Call with an output buffer; on MEDSHIM_ERANGE fetch the kept answer
        // with a buffer of the size needed (the call is not repeated).
        internal static Dictionary<string, object> Out(OutCall call, int alsoOk = 0)
        {
            var buf = new byte[16384];
            UIntPtr need;
            int rc = call(buf, (UIntPtr)buf.Length, out need);
            if (rc == ERANGE && (ulong)need > (ulong)buf.Length)
            {
                buf = new byte[(int)(ulong)need];
                Check(Native.medshim_flat_last_result(buf, (UIntPtr)buf.Length, out need));
                rc = 0;
            }
            if (rc != 0 && rc != alsoOk) throw Error(rc);
            return Json.Object(Text(buf));
        }

        /// <summary>{"library": "0.1.0", "flat": 2}</summary>
        public static Dictionary<string, object> Version()
        {
            return Out(Native.medshim_flat_version);
        }

        /// <summary>During an adapter call (request "ctx", replay with "steps": "host"):
        /// record a platform request durably before sending it; the msgid to send.
        /// Throws when not recorded: then do not send.</summary>
        public static string StepBegin(int ctx, string infno)
        {
            var m = new byte[31];
            Check(Native.medshim_flat_step_begin(ctx, Z(infno), m, (UIntPtr)m.Length));
            return Text(m);
        }

        /// <summary>During an adapter call: record what came back for a step.</summary>
        public static void StepEnd(int ctx, Dictionary<string, object> step)
        {
            Check(Native.medshim_flat_step_end(ctx, Z(Json.Write(step))));
        }

        /// <summary>Create a key file (32 random bytes, mode 0600); never overwrites.</summary>
        public static void KeyGenerate(string path)
        {
            Check(Native.medshim_flat_key_generate(Z(path)));
        }

        /// <summary>Check a journal; damage is in the answer ("intact": false).</summary>
        public static Dictionary<string, object> Verify(string dir, string keyFile)
        {
            byte[] d = Z(dir), o = Z(Json.Write(new Dictionary<string, object> { { "key_file", keyFile } }));
            return Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_verify(d, o, b, c, out n), ECORRUPT);
        }
    }

    /// <summary>The decision for one visit.</summary>
    public sealed class Decision
    {
        public Dictionary<string, object> Raw { get; private set; }
        internal Decision(Dictionary<string, object> raw) { Raw = raw; }
        object Get(string k) { object v; return Raw.TryGetValue(k, out v) ? v : null; }
        public string Verdict { get { return (string)Get("decision"); } }   // online, try_online, defer
        public string Reason { get { return (string)Get("reason"); } }
        public string CashierText { get { return (string)Get("cashier_text"); } }
        /// <summary>Why, as a stable code: planned_stop, degraded, breaker_open...</summary>
        public string ReasonCode { get { return (string)Get("reason_code"); } }
        /// <summary>For the patient's receipt: where and from when the money comes back.</summary>
        public string ReceiptText { get { return (string)Get("receipt_text"); } }
        /// <summary>Put it in the claim as "window" before deferring; null when none.</summary>
        public Dictionary<string, object> ClaimWindow { get { return (Dictionary<string, object>)Get("claim_window"); } }
        public Dictionary<string, object> Replay { get { return (Dictionary<string, object>)Get("replay"); } }
    }

    /// <summary>A set of cutover notices.</summary>
    public sealed class Schedules : IDisposable
    {
        int handle;

        public Schedules(string path)
        {
            Flat.Check(Native.medshim_flat_schedules_load(Flat.Z(path), null, out handle));
        }

        int H { get { if (handle == 0) throw new ObjectDisposedException("Schedules"); return handle; } }

        /// <summary>After each online attempt: repeated failures of a region open
        /// its circuit breaker (decisions become defer until a probe succeeds).</summary>
        public void ReportOutcome(string region, bool ok, string at)
        {
            var o = new Dictionary<string, object> { { "region", region }, { "ok", ok }, { "at", at } };
            Flat.Check(Native.medshim_flat_report_outcome(H, Flat.Z(Json.Write(o))));
        }

        /// <param name="at">ISO 8601 ("2022-02-11T09:30": China Standard Time without an offset)</param>
        public Decision Decide(string service, string insured, string treated, string at)
        {
            return Decide(service, insured, treated, at, "en");
        }

        /// <summary>The same, with the cashier and receipt texts in lang ("en" or "zh").</summary>
        public Decision Decide(string service, string insured, string treated, string at, string lang)
        {
            var v = new Dictionary<string, object> { { "service", service }, { "insured_admdvs", insured }, { "at", at }, { "lang", lang } };
            if (treated != null) v["treated_admdvs"] = treated;
            byte[] visit = Flat.Z(Json.Write(v));
            int h = H;
            return new Decision(Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_decide(h, visit, b, c, out n)));
        }

        public void Dispose()
        {
            if (handle != 0) { int h = handle; handle = 0; Flat.Check(Native.medshim_flat_schedules_free(h)); }
        }
    }

    /// <summary>From the adapter request to the answer (see flat.h). An
    /// exception counts as a lost answer: the claim is probed, never resent blindly.</summary>
    public delegate Dictionary<string, object> Adapter(Dictionary<string, object> request);

    /// <summary>An adapter program speaking the exec protocol of docs/replay.md
    /// (e.g. medshim-sim), kept running and bridged to Journal.Replay with
    /// "steps": "host": its step_begin/step_end lines are recorded in the
    /// journal before it may send. One request at a time.</summary>
    public sealed class ExecAdapter : IDisposable
    {
        readonly System.Diagnostics.Process proc;
        readonly object gate = new object();
        long id;

        public ExecAdapter(string program, string arguments)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(program, arguments)
            {
                UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true,
                StandardOutputEncoding = new UTF8Encoding(false)
            };
            proc = System.Diagnostics.Process.Start(psi);
        }

        void Send(Dictionary<string, object> o)
        {
            var b = Encoding.UTF8.GetBytes(Json.Write(o) + "\n");
            proc.StandardInput.BaseStream.Write(b, 0, b.Length);
            proc.StandardInput.BaseStream.Flush();
        }

        public Dictionary<string, object> Call(Dictionary<string, object> request)
        {
            lock (gate)
            {
                long rid = ++id;
                int ctx = (int)(long)request["ctx"];
                request.Remove("ctx");
                request.Remove("kind");
                request.Remove("msgid");
                request["id"] = rid;
                Send(request);
                for (;;)
                {
                    string l = proc.StandardOutput.ReadLine();
                    if (l == null) throw new System.IO.IOException("the adapter program closed its output");
                    var msg = Json.Object(l);
                    object type;
                    msg.TryGetValue("type", out type);
                    if ((string)type == "result") return msg;
                    try
                    {
                        if ((string)type == "step_begin")
                            Send(new Dictionary<string, object> { { "type", "msgid" }, { "id", rid }, { "msgid", Flat.StepBegin(ctx, (string)msg["infno"]) } });
                        else if ((string)type == "step_end")
                        {
                            Flat.StepEnd(ctx, msg);
                            Send(new Dictionary<string, object> { { "type", "recorded" }, { "id", rid } });
                        }
                        else throw new System.IO.IOException("unexpected line from the adapter program");
                    }
                    catch (MedshimException e)
                    {
                        Send(new Dictionary<string, object> { { "type", "error" }, { "id", rid }, { "message", e.Text } });
                    }
                }
            }
        }

        public void Dispose()
        {
            proc.StandardInput.Close();
            proc.WaitForExit();
            proc.Dispose();
        }
    }

    /// <summary>The encrypted, crash-safe claim journal.</summary>
    public sealed class Journal : IDisposable
    {
        int handle;

        /// <param name="mode">"write", "replay", "readonly" or "salvage"</param>
        public Journal(string dir, string keyFile, bool create = true, string mode = "write")
        {
            var o = new Dictionary<string, object> { { "key_file", keyFile }, { "create", create }, { "mode", mode } };
            Flat.Check(Native.medshim_flat_journal_open(Flat.Z(dir), Flat.Z(Json.Write(o)), out handle));
        }

        int H { get { if (handle == 0) throw new ObjectDisposedException("Journal"); return handle; } }

        /// <summary>Journal claims durably. A bad claim throws naming its line and field; nothing is stored.</summary>
        public List<object> Defer(IEnumerable<Dictionary<string, object>> claims)
        {
            var sb = new StringBuilder();
            foreach (var c in claims) sb.Append(Json.Write(c)).Append('\n');
            return DeferLines(sb.ToString());
        }

        public Dictionary<string, object> Defer(Dictionary<string, object> claim)
        {
            return (Dictionary<string, object>)DeferLines(Json.Write(claim))[0];
        }

        public List<object> DeferLines(string jsonl)
        {
            byte[] t = Flat.Z(jsonl);
            int h = H;
            return (List<object>)Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_defer(h, t, b, c, out n))["results"];
        }

        /// <summary>Every claim with its state, without personal data.</summary>
        public List<object> List()
        {
            int h = H;
            return (List<object>)Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_list(h, b, c, out n))["claims"];
        }

        /// <summary>Counts by state and the refunds due.</summary>
        public Dictionary<string, object> Report()
        {
            int h = H;
            return Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_report(h, b, c, out n));
        }

        /// <summary>The claims for manual reimbursement at the agency (states manual and
        /// expired), with the materials and the last day; names and ID numbers masked
        /// unless reveal (the agency needs them). lang: "en" or "zh".</summary>
        public List<object> ExportManual(bool reveal, string lang)
        {
            int h = H;
            byte[] o = Flat.Z(Json.Write(new Dictionary<string, object> { { "reveal", reveal }, { "lang", lang } }));
            return (List<object>)Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_export(h, o, b, c, out n))["claims"];
        }

        /// <summary>Replay claims whose window is open ("institution_code" required).</summary>
        public Dictionary<string, object> Replay(Adapter adapter, Dictionary<string, object> options)
        {
            byte[] o = Flat.Z(Json.Write(options));
            int h = H;
            AdapterFn fn = (IntPtr req, IntPtr ans, UIntPtr cap, IntPtr p) =>
            {
                try
                {
                    int len = 0;
                    while (Marshal.ReadByte(req, len) != 0) len++;
                    var raw = new byte[len];
                    Marshal.Copy(req, raw, 0, len);
                    var reply = Encoding.UTF8.GetBytes(Json.Write(adapter(Json.Object(Encoding.UTF8.GetString(raw)))));
                    if ((ulong)reply.Length + 1 > (ulong)cap) return -1;
                    Marshal.Copy(reply, 0, ans, reply.Length);
                    Marshal.WriteByte(ans, reply.Length, 0);
                    return 0;
                }
                catch (Exception)
                {
                    return -1; // never across the C frames
                }
            };
            var result = Flat.Out((byte[] b, UIntPtr c, out UIntPtr n) => Native.medshim_flat_replay(h, o, fn, IntPtr.Zero, b, c, out n));
            GC.KeepAlive(fn); // the delegate must outlive the native call
            return result;
        }

        public void Dispose()
        {
            if (handle != 0) { int h = handle; handle = 0; Flat.Check(Native.medshim_flat_journal_close(h)); }
        }
    }
}

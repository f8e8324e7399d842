package org.medshim;

import com.sun.jna.Callback;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The encrypted, crash-safe claim journal. One handle may be shared by all
 * cashier threads.
 */
public final class Journal implements AutoCloseable {
  private int handle;

  /**
   * @param mode "write" (a cashier process), "replay", "readonly" or "salvage"
   */
  public Journal(String dir, String keyFile, boolean create, String mode) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("key_file", keyFile);
    o.put("create", create);
    o.put("mode", mode);
    IntByReference h = new IntByReference();
    Medshim.check(Flat.LIB.medshim_flat_journal_open(dir, Json.write(o), h));
    handle = h.getValue();
  }

  /** Open for writing, creating it if needed. */
  public Journal(String dir, String keyFile) {
    this(dir, keyFile, true, "write");
  }

  private int h() {
    if (handle == 0) throw new IllegalStateException("journal closed");
    return handle;
  }

  /**
   * Journal claims durably (one fdatasync). Every claim is checked first: a
   * bad one throws naming its line and field, and nothing is stored.
   * @return per claim: visit_id, result ("stored", "duplicate",
   *     "conflict"), receipt (keep it with the visit)
   */
  public List<Map<String, Object>> defer(List<? extends Map<String, Object>> claims) {
    StringBuilder b = new StringBuilder();
    for (Map<String, Object> c : claims) b.append(Json.write(c)).append('\n');
    return deferLines(b.toString());
  }

  /** One claim. */
  public Map<String, Object> defer(Map<String, Object> claim) {
    return deferLines(Json.write(claim)).get(0);
  }

  /** Claims as JSON lines (what `medshim defer` reads). */
  @SuppressWarnings("unchecked")
  public List<Map<String, Object>> deferLines(String jsonl) {
    int hh = h();
    return (List<Map<String, Object>>)
        Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_defer(hh, jsonl, o, c, n)).get("results");
  }

  /** Every claim with its state, without personal data. */
  @SuppressWarnings("unchecked")
  public List<Map<String, Object>> list() {
    int hh = h();
    return (List<Map<String, Object>>)
        Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_list(hh, o, c, n)).get("claims");
  }

  /** Counts by state and the refunds due ("refunds", "refunds_due_fen"). */
  public Map<String, Object> report() {
    int hh = h();
    return Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_report(hh, o, c, n));
  }

  /**
   * The claims for manual reimbursement at the agency (states manual and
   * expired), with the materials to bring and the last day; names and ID
   * numbers masked unless reveal (the agency needs them).
   * @param lang "en" or "zh", the materials text
   */
  @SuppressWarnings("unchecked")
  public List<Map<String, Object>> exportManual(boolean reveal, String lang) {
    Map<String, Object> opts = new LinkedHashMap<>();
    opts.put("reveal", reveal);
    opts.put("lang", lang);
    String in = Json.write(opts);
    int hh = h();
    return (List<Map<String, Object>>)
        Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_export(hh, in, o, c, n)).get("claims");
  }

  /**
   * Replay the claims whose window is open through {@code adapter}.
   * @param options "institution_code" (required, 12 characters), "at",
   *     "max_attempts", "concurrency", "no_visibility_delay", ...
   * @return the run's summary ("settled", "in_doubt", "refunds_due_fen", ...)
   */
  public Map<String, Object> replay(Adapter adapter, Map<String, Object> options) {
    int hh = h();
    String opts = Json.write(options);
    Callback cb = Flat.STDCALL ? (Flat.StdAdapterFn) (r, a, c, p) -> invoke(adapter, r, a, c)
                               : (Flat.AdapterFn) (r, a, c, p) -> invoke(adapter, r, a, c);
    Map<String, Object> out =
        Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_replay(hh, opts, cb, null, o, c, n));
    keep(cb);
    return out;
  }

  private static void keep(Object o) {
    // the callback must stay reachable until the native call has returned
    if (o == null) throw new AssertionError();
  }

  private static int invoke(Adapter adapter, Pointer request, Pointer answer, Flat.SizeT cap) {
    try {
      Map<String, Object> req = Json.object(request.getString(0, "UTF-8"));
      byte[] reply = Json.write(adapter.call(req)).getBytes(StandardCharsets.UTF_8);
      if (reply.length + 1 > cap.longValue()) return -1;
      answer.write(0, reply, 0, reply.length);
      answer.setByte(reply.length, (byte) 0);
      return 0;
    } catch (Throwable t) { // never across the C frames
      return -1;
    }
  }

  /** Close, writing the checkpoint. */
  @Override
  public void close() {
    if (handle != 0) {
      int hh = handle;
      handle = 0;
      Medshim.check(Flat.LIB.medshim_flat_journal_close(hh));
    }
  }
}

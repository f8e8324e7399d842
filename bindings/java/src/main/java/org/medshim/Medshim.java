package org.medshim;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Functions without a handle, and the buffer plumbing of the binding. */
public final class Medshim {
  static final int OK = 0;
  static final int ECORRUPT = -6;
  static final int ERANGE = -18;
  private static final int FIRST_BUFFER = 16384;
  private static final ThreadLocal<String> LAST = new ThreadLocal<>();

  private Medshim() {}

  /** A flat call writing into (out, cap, needed). */
  interface OutCall {
    int call(byte[] out, Flat.SizeT cap, Flat.SizeTByReference needed);
  }

  /** This thread's last error as an exception. */
  static MedshimException error(int rc) {
    byte[] buf = new byte[2048];
    Flat.SizeTByReference need = new Flat.SizeTByReference();
    if (Flat.LIB.medshim_flat_last_error(buf, new Flat.SizeT(buf.length), need) != OK)
      return new MedshimException(rc, "MEDSHIM_ERROR", "", 0, "error text unavailable");
    Map<String, Object> e = Json.object(text(buf));
    return new MedshimException(((Number) e.get("code")).intValue(), (String) e.get("name"),
        (String) e.get("where"), ((Number) e.get("line")).longValue(), (String) e.get("message"));
  }

  static void check(int rc) {
    if (rc != OK) throw error(rc);
  }

  static String text(byte[] buf) {
    int n = 0;
    while (n < buf.length && buf[n] != 0) n++;
    return new String(buf, 0, n, StandardCharsets.UTF_8);
  }

  /**
   * Call with an output buffer; on MEDSHIM_ERANGE fetch the kept answer
   * with a buffer of the size needed (the call is not repeated).
   */
  static Map<String, Object> out(OutCall c, int... alsoOk) {
    byte[] buf = new byte[FIRST_BUFFER];
    Flat.SizeTByReference need = new Flat.SizeTByReference();
    int rc = c.call(buf, new Flat.SizeT(buf.length), need);
    if (rc == ERANGE && need.getValue() > buf.length) {
      buf = new byte[(int) need.getValue()];
      check(Flat.LIB.medshim_flat_last_result(buf, new Flat.SizeT(buf.length), need));
      rc = OK;
    }
    boolean ok = rc == OK;
    for (int a : alsoOk) ok |= rc == a;
    if (!ok) throw error(rc);
    String t = text(buf);
    LAST.set(t);
    return Json.object(t);
  }

  /** The raw JSON text of this thread's last answer, for your own JSON library. */
  public static String lastJson() {
    return LAST.get();
  }

  /** {"library": "0.1.0", "flat": 2}. */
  public static Map<String, Object> version() {
    return out(Flat.LIB::medshim_flat_version);
  }

  /**
   * During an adapter call (request "ctx", replay with "steps": "host"):
   * record a platform request durably before sending it.
   * @return the msgid to send; throws when not recorded (then do not send)
   */
  public static String stepBegin(int ctx, String infno) {
    byte[] m = new byte[31];
    check(Flat.LIB.medshim_flat_step_begin(ctx, infno, m, new Flat.SizeT(m.length)));
    return text(m);
  }

  /** During an adapter call: record what came back ("msgid", "state", ids, amounts). */
  public static void stepEnd(int ctx, Map<String, Object> step) {
    check(Flat.LIB.medshim_flat_step_end(ctx, Json.write(step)));
  }

  /** Create a key file of 32 random bytes, mode 0600; never overwrites one. */
  public static void keyGenerate(String path) {
    check(Flat.LIB.medshim_flat_key_generate(path));
  }

  /**
   * Check a journal without writing. Damage is in the answer ("intact":
   * false, "damage", "text"), not thrown.
   */
  public static Map<String, Object> verify(String dir, String keyFile) {
    String opts = Json.write(Map.of("key_file", keyFile));
    return out((o, c, n) -> Flat.LIB.medshim_flat_verify(dir, opts, o, c, n), ECORRUPT);
  }
}

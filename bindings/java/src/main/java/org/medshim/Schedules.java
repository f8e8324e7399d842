package org.medshim;

import com.sun.jna.ptr.IntByReference;
import java.util.LinkedHashMap;
import java.util.Map;

/** A set of cutover notices. Thread-safe for decide() once loaded. */
public final class Schedules implements AutoCloseable {
  private int handle;

  /** Load a notice file (with FILE.sig when it exists). */
  public Schedules(String path) {
    IntByReference h = new IntByReference();
    Medshim.check(Flat.LIB.medshim_flat_schedules_load(path, null, h));
    handle = h.getValue();
  }

  private int h() {
    if (handle == 0) throw new IllegalStateException("schedules closed");
    return handle;
  }

  /** Load one more notice (an amendment supersedes). */
  public Map<String, Object> add(String path) {
    int hh = h();
    return Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_schedules_add(hh, path, o, c, n));
  }

  /**
   * Decide for a visit.
   * @param service "outpatient", "pharmacy", "inpatient", ...
   * @param insured insured region, 6 digits
   * @param treated treatment region, or null for the same
   * @param at ISO 8601 text ("2022-02-11T09:30", China Standard Time without an offset)
   */
  public Decision decide(String service, String insured, String treated, String at) {
    return decide(service, insured, treated, at, "en");
  }

  /** The same, with the cashier and receipt texts in lang ("en" or "zh"). */
  public Decision decide(String service, String insured, String treated, String at,
                         String lang) {
    Map<String, Object> visit = new LinkedHashMap<>();
    visit.put("service", service);
    visit.put("insured_admdvs", insured);
    if (treated != null) visit.put("treated_admdvs", treated);
    visit.put("at", at);
    visit.put("lang", lang);
    String in = Json.write(visit);
    int hh = h();
    return new Decision(Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_decide(hh, in, o, c, n)));
  }

  /**
   * After each online attempt: repeated failures of a region open its
   * circuit breaker (decisions become defer until a probe succeeds).
   * @param at ISO 8601 text of the attempt
   */
  public void reportOutcome(String region, boolean ok, String at) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("region", region);
    o.put("ok", ok);
    o.put("at", at);
    Medshim.check(Flat.LIB.medshim_flat_report_outcome(h(), Json.write(o)));
  }

  /** Decide now. */
  public Decision decide(String service, String insured, String treated) {
    Map<String, Object> visit = new LinkedHashMap<>();
    visit.put("service", service);
    visit.put("insured_admdvs", insured);
    if (treated != null) visit.put("treated_admdvs", treated);
    visit.put("at", System.currentTimeMillis() / 1000);
    String in = Json.write(visit);
    int hh = h();
    return new Decision(Medshim.out((o, c, n) -> Flat.LIB.medshim_flat_decide(hh, in, o, c, n)));
  }

  @Override
  public void close() {
    if (handle != 0) {
      int hh = handle;
      handle = 0;
      Medshim.check(Flat.LIB.medshim_flat_schedules_free(hh));
    }
  }
}

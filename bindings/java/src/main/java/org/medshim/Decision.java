package org.medshim;

import java.util.List;
import java.util.Map;

/** The decision for one visit (medshim_flat_decide). */
public final class Decision {
  private final Map<String, Object> raw;

  Decision(Map<String, Object> raw) {
    this.raw = raw;
  }

  /** "online", "try_online" or "defer". */
  public String verdict() {
    return (String) raw.get("decision");
  }

  public boolean isDefer() {
    return "defer".equals(verdict());
  }

  public String reason() {
    return (String) raw.get("reason");
  }

  /** Why, as a stable code: "planned_stop", "degraded", "breaker_open"... */
  public String reasonCode() {
    return (String) raw.get("reason_code");
  }

  /** For the patient's receipt: where and from when the money comes back. */
  public String receiptText() {
    return (String) raw.get("receipt_text");
  }

  /** What to tell the cashier. */
  public String cashierText() {
    return (String) raw.get("cashier_text");
  }

  /** Put this in the claim as "window" before deferring it; null when none. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> claimWindow() {
    return (Map<String, Object>) raw.get("claim_window");
  }

  /** Route, from and until of the re-settlement; null when none. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> replay() {
    return (Map<String, Object>) raw.get("replay");
  }

  @SuppressWarnings("unchecked")
  public List<Map<String, Object>> advice() {
    return (List<Map<String, Object>>) raw.get("advice");
  }

  /** The whole answer. */
  public Map<String, Object> raw() {
    return raw;
  }
}

package org.medshim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issue-13 scenario through the Java binding: load the Hangzhou notice,
 * decide for a visit in the stop, defer, replay against a simulated
 * platform, report refunds; a bad claim throws naming field and line.
 */
class MedshimTest {
  static final String ID_NO = "330102199001011234";
  static final String NAME = "张三";
  static final String PSN = "33000000000000000012";

  @TempDir Path tmp;
  String key;
  String journal;
  String hangzhou;

  @BeforeEach
  void setUp() {
    key = tmp.resolve("his.key").toString();
    journal = tmp.resolve("journal").toString();
    Medshim.keyGenerate(key);
    String src = System.getenv("MEDSHIM_SOURCE_DIR");
    hangzhou = Paths.get(src == null ? "../.." : src, "examples", "schedules", "hangzhou-2022.json")
        .toString();
  }

  static Map<String, Object> claim(String visitId, Map<String, Object> window) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("visit_id", visitId);
    c.put("service", "outpatient");
    c.put("insured_admdvs", "330102");
    c.put("treated_admdvs", "330106");
    c.put("visit_time", "2022-02-11T09:30");
    c.put("total_fen", 23850);
    c.put("self_paid_fen", 23850);
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("name", NAME);
    p.put("id_no", ID_NO);
    p.put("psn_no", PSN);
    c.put("patient", p);
    if (window != null) c.put("window", window);
    return c;
  }

  /** A simulated platform: settles each visit once, answers probes, can lose an answer. */
  static final class Platform implements Adapter {
    final Map<String, Map<String, Object>> settled = new HashMap<>();
    final List<String> calls = new ArrayList<>();
    int lose;

    Platform(int lose) {
      this.lose = lose;
    }

    @Override
    @SuppressWarnings("unchecked")
    public synchronized Map<String, Object> call(Map<String, Object> req) throws Exception {
      calls.add((String) req.get("kind"));
      String k = (String) req.get("replay_key");
      if ("probe".equals(req.get("kind"))) {
        Map<String, Object> s = settled.get(k);
        return s != null ? s : Map.of("outcome", "not_found");
      }
      Map<String, Object> c = (Map<String, Object>) req.get("claim");
      assertEquals(ID_NO, ((Map<String, Object>) c.get("patient")).get("id_no"));
      long total = ((Number) c.get("total_fen")).longValue();
      long fund = total * 7 / 10, acct = total / 10;
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("outcome", "settled");
      a.put("settlement_id", "S" + c.get("visit_id"));
      a.put("total_fen", total);
      a.put("fund_paid_fen", fund);
      a.put("acct_paid_fen", acct);
      a.put("patient_paid_fen", total - fund - acct);
      a.put("setl_time", 1647741600L);
      settled.put(k, a);
      if (lose > 0) {
        lose--;
        throw new java.io.IOException("answer lost"); // done, the caller hears nothing
      }
      return a;
    }
  }

  @Test
  void version() {
    assertEquals(2L, Medshim.version().get("flat"));
  }

  @Test
  void decideInTheHangzhouStop() {
    try (Schedules s = new Schedules(hangzhou)) {
      Decision d = s.decide("outpatient", "330102", "330106", "2022-02-11T09:30");
      assertEquals("defer", d.verdict());
      assertTrue(d.cashierText().contains("Collect the full amount"));
      assertEquals("planned_stop", d.reasonCode());
      assertTrue(d.receiptText().contains("you paid the full amount"));
      Decision zh = s.decide("outpatient", "330102", "330106", "2022-02-11T09:30", "zh");
      assertTrue(zh.cashierText().contains("医保"));
      assertEquals("hospital", d.replay().get("route"));
      assertNotNull(d.claimWindow());
      assertEquals("online", s.decide("outpatient", "330102", null, "2022-02-09T23:59").verdict());
      assertEquals("try_online", s.decide("pharmacy", "330185", null, "2022-02-16T10:00").verdict());
      for (int i = 0; i < 5; i++) s.reportOutcome("330102", false, "2022-03-01T09:59");
      assertEquals("defer", s.decide("outpatient", "330102", null, "2022-03-01T10:00").verdict());
      assertEquals("region", assertThrows(MedshimException.class,
          () -> s.reportOutcome("3301", true, "2022-03-01T10:00")).where());
      MedshimException e = assertThrows(MedshimException.class,
          () -> s.decide("dentistry", "330102", null, "2022-02-11"));
      assertEquals("service", e.where());
      assertEquals(-1, e.code());
    }
  }

  @Test
  void cashierFlowReplayAndRefunds() {
    Platform platform = new Platform(1);
    try (Schedules s = new Schedules(hangzhou); Journal j = new Journal(journal, key)) {
      Decision d = s.decide("outpatient", "330102", "330106", "2022-02-11T09:30");
      assertTrue(d.isDefer());
      List<Map<String, Object>> r = j.defer(List.of(claim("MZ-1", d.claimWindow()),
          claim("MZ-2", d.claimWindow())));
      assertEquals("stored", r.get(0).get("result"));
      assertTrue(((String) r.get(1).get("receipt")).startsWith("R1-"));
      assertEquals("duplicate", j.defer(claim("MZ-1", d.claimWindow())).get("result"));
      List<Map<String, Object>> listed = j.list();
      assertEquals(2, listed.size());
      assertEquals("pending", listed.get(0).get("state"));
      assertFalse(Json.write(listed).contains(NAME));
      assertFalse(Json.write(listed).contains(ID_NO));

      Map<String, Object> opts = new HashMap<>();
      opts.put("institution_code", "H33010600001");
      opts.put("at", "2022-03-20T10:00");
      opts.put("no_visibility_delay", true);
      opts.put("seed", 1);
      // MZ-1's answer is lost: probed and found settled; MZ-2 waits behind it
      Map<String, Object> first = j.replay(platform, opts);
      assertEquals(1L, first.get("settled"));
      assertEquals(0L, first.get("in_doubt"));
      assertTrue(platform.calls.contains("probe"));
      Map<String, Object> second = j.replay(platform, opts);
      assertEquals(2L, second.get("settled"));
      assertEquals(2, platform.calls.stream().filter("settle"::equals).count());

      Map<String, Object> rep = j.report();
      assertEquals(2L, rep.get("refunds_due_count"));
      assertEquals(2L * 19080, rep.get("refunds_due_fen"));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> refunds = (List<Map<String, Object>>) rep.get("refunds");
      assertEquals(19080L, refunds.get(0).get("refund_fen"));
      assertEquals("SMZ-1", refunds.get(0).get("settlement_id"));
    }
    Map<String, Object> v = Medshim.verify(journal, key);
    assertEquals(Boolean.TRUE, v.get("intact"));
    assertEquals(2L, v.get("claims"));
  }

  /**
   * The full platform sequence (1101, 2201, 2204, 2206, 2207), every request
   * recorded as a step first, against medshim-sim with lost answers: each
   * visit settled exactly once.
   */
  @Test
  void replayAgainstMedshimSim() throws Exception {
    String sim = System.getenv("MEDSHIM_SIM_TOOL");
    org.junit.jupiter.api.Assumptions.assumeTrue(sim != null, "MEDSHIM_SIM_TOOL not given");
    String ledger = tmp.resolve("ledger").toString();
    Map<String, Object> summary = null;
    try (Schedules s = new Schedules(hangzhou); Journal j = new Journal(journal, key)) {
      Decision d = s.decide("outpatient", "330102", "330106", "2022-02-11T09:30");
      List<Map<String, Object>> claims = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        Map<String, Object> c = claim("SIM-" + i, d.claimWindow());
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("psn_no", String.format("3300000000000000%04d", i));
        c.put("patient", p);
        claims.add(c);
      }
      j.defer(claims);
      Map<String, Object> opts = new HashMap<>();
      opts.put("institution_code", "H33010600001");
      opts.put("at", "2022-03-20T10:00");
      opts.put("no_visibility_delay", true);
      opts.put("steps", "host");
      opts.put("seed", 3);
      try (ExecAdapter a = new ExecAdapter(List.of(sim, "--ledger", ledger, "--lost-permille",
          "300", "--seed", "5", "--institution", "H33010600001"))) {
        for (int k = 0; k < 6; k++) {
          summary = j.replay(a, opts);
          if (((Number) summary.get("settled")).intValue() == 6) break;
        }
      }
      assertEquals(6L, summary.get("settled"));
      assertEquals(0L, summary.get("in_doubt"));
      assertEquals(6L, j.report().get("refunds_due_count"));
    }
    Process p = new ProcessBuilder(sim, "--stats", "--ledger", ledger).start();
    Map<String, Object> stats =
        Json.object(new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim());
    assertEquals(0, p.waitFor());
    assertEquals(0L, stats.get("double_settlements"));
    assertEquals(0L, stats.get("open_partial_sequences"));
    assertEquals(6L, stats.get("active_settlements"));
    assertTrue(((Number) stats.get("lost_answers")).longValue() > 0);
  }

  @Test
  void exportForTheAgency() {
    Map<String, Object> agency = new LinkedHashMap<>();
    agency.put("route", "agency");
    agency.put("from", "2022-03-15T00:00+08:00");
    agency.put("until", "2023-01-01T00:00+08:00");
    try (Journal j = new Journal(journal, key)) {
      Map<String, Object> c = claim("ZY-1", agency);
      c.put("service", "inpatient");
      j.defer(List.of(c));
      assertEquals(0, j.exportManual(false, "en").size());
      Map<String, Object> opts = new HashMap<>();
      opts.put("institution_code", "H33010600001");
      opts.put("at", "2022-03-20T10:00");
      j.replay(new Platform(0), opts);
      List<Map<String, Object>> rows = j.exportManual(false, "en");
      assertEquals(1, rows.size());
      assertEquals("manual", rows.get(0).get("state"));
      assertEquals("2022-12-31", rows.get(0).get("deadline_last_day"));
      assertFalse(Json.write(rows).contains(NAME));
      assertTrue(Json.write(j.exportManual(true, "zh")).contains(NAME));
    }
  }

  @Test
  void badClaimNamesFieldAndLine() {
    try (Journal j = new Journal(journal, key)) {
      Map<String, Object> bad = claim("MZ-2", null);
      bad.put("total_fen", -5);
      bad.put("self_paid_fen", 0);
      MedshimException e = assertThrows(MedshimException.class,
          () -> j.defer(List.of(claim("MZ-1", null), bad)));
      assertEquals(-1, e.code());
      assertEquals("MEDSHIM_EINVAL", e.name());
      assertEquals("total_fen", e.where());
      assertEquals(2L, e.line());
      assertTrue(e.getMessage().contains("line 2: total_fen"));
      for (String personal : new String[] {NAME, ID_NO, PSN}) {
        assertFalse(e.getMessage().contains(personal));
      }
      assertEquals(0, j.list().size()); // nothing of the batch stored
      MedshimException p = assertThrows(MedshimException.class, () -> j.deferLines("{\"visit_id\":"));
      assertEquals("MEDSHIM_EPARSE", p.name());
    }
  }

  @Test
  void handlesAndErrors() throws Exception {
    Schedules s = new Schedules(hangzhou);
    s.close();
    s.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> s.decide("outpatient", "330102", null, "2022-02-11"));
    MedshimException e = assertThrows(MedshimException.class,
        () -> new Journal(journal, key, false, "write"));
    assertEquals("MEDSHIM_ENOTFOUND", e.name());
    assertEquals("MEDSHIM_EEXIST",
        assertThrows(MedshimException.class, () -> Medshim.keyGenerate(key)).name());
    assertThrows(MedshimException.class, () -> new Schedules(tmp.resolve("none.json").toString()));
    assertTrue(Files.exists(Paths.get(key)));
  }

  @Test
  void largeAnswersGrowTheBuffer() {
    try (Journal j = new Journal(journal, key)) {
      List<Map<String, Object>> many = new ArrayList<>();
      for (int i = 0; i < 300; i++) many.add(claim(String.format("BIG-%03d", i), null));
      assertEquals(300, j.defer(many).size());
      assertEquals(300, j.list().size());
    }
  }
}

package org.medshim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter program speaking the exec protocol of docs/replay.md (what
 * `medshim replay --exec-persistent CMD` runs, e.g. medshim-sim), kept
 * running and bridged to {@link Journal#replay} with "steps": "host": its
 * step_begin and step_end lines are recorded in the journal before it may
 * send anything. One request at a time.
 */
public final class ExecAdapter implements Adapter, AutoCloseable {
  private final Process proc;
  private final BufferedReader out;
  private final OutputStream in;
  private long id;

  public ExecAdapter(List<String> argv) throws IOException {
    proc = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
    in = proc.getOutputStream();
  }

  private void send(Map<String, Object> o) throws IOException {
    in.write((Json.write(o) + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  private static Map<String, Object> line(String type, long id) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", type);
    m.put("id", id);
    return m;
  }

  @Override
  public synchronized Map<String, Object> call(Map<String, Object> request) throws Exception {
    long rid = ++id;
    int ctx = ((Number) request.remove("ctx")).intValue();
    request.remove("kind");
    request.remove("msgid");
    request.put("id", rid);
    send(request);
    for (;;) {
      String l = out.readLine();
      if (l == null) throw new IOException("the adapter program closed its output");
      Map<String, Object> msg = Json.object(l);
      Object type = msg.get("type");
      if ("result".equals(type)) return msg;
      try {
        if ("step_begin".equals(type)) {
          Map<String, Object> a = line("msgid", rid);
          a.put("msgid", Medshim.stepBegin(ctx, (String) msg.get("infno")));
          send(a);
        } else if ("step_end".equals(type)) {
          Medshim.stepEnd(ctx, msg);
          send(line("recorded", rid));
        } else {
          throw new IOException("unexpected line from the adapter program");
        }
      } catch (MedshimException e) {
        Map<String, Object> a = line("error", rid);
        a.put("message", e.text());
        send(a);
      }
    }
  }

  /** Close the program's input and wait for it to exit. */
  @Override
  public void close() throws IOException {
    in.close();
    try {
      proc.waitFor();
    } catch (InterruptedException e) {
      proc.destroy();
      Thread.currentThread().interrupt();
    }
  }
}

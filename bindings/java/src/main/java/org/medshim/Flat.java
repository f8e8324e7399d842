package org.medshim;

import com.sun.jna.ptr.ByReference;
import com.sun.jna.Callback;
import com.sun.jna.Function;
import com.sun.jna.IntegerType;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.win32.StdCallLibrary;
import java.util.HashMap;
import java.util.Map;

/**
 * JNA declarations of include/medshim/flat.h, one to one. Only int, int32,
 * size_t, UTF-8 text and caller buffers cross: no struct is mapped. Most
 * code uses {@link Schedules} and {@link Journal} instead.
 */
public interface Flat extends Library {
  /** size_t. */
  final class SizeT extends IntegerType {
    private static final long serialVersionUID = 1L;

    public SizeT() {
      this(0);
    }

    public SizeT(long value) {
      super(Native.SIZE_T_SIZE, value, true);
    }
  }

  /** size_t *. */
  final class SizeTByReference extends ByReference {
    public SizeTByReference() {
      super(Native.SIZE_T_SIZE);
    }

    public long getValue() {
      return Native.SIZE_T_SIZE == 8 ? getPointer().getLong(0) : getPointer().getInt(0) & 0xffffffffL;
    }
  }

  /** medshim_flat_adapter_fn (cdecl). */
  interface AdapterFn extends Callback {
    int invoke(Pointer request, Pointer answer, SizeT cap, Pointer payload);
  }

  /** medshim_flat_adapter_fn on 32-bit Windows (__stdcall). */
  interface StdAdapterFn extends StdCallLibrary.StdCallCallback {
    int invoke(Pointer request, Pointer answer, SizeT cap, Pointer payload);
  }

  int medshim_flat_version(byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_last_error(byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_last_result(byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_schedules_load(String path, String optionsJson, IntByReference handle);

  int medshim_flat_schedules_add(int handle, String path, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_schedules_free(int handle);

  int medshim_flat_report_outcome(int handle, String outcomeJson);

  int medshim_flat_decide(int handle, String visitJson, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_journal_open(String dir, String optionsJson, IntByReference handle);

  int medshim_flat_key_generate(String path);

  int medshim_flat_journal_close(int handle);

  int medshim_flat_defer(int handle, String claimsJsonl, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_list(int handle, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_report(int handle, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_export(int handle, String optionsJson, byte[] out, SizeT cap,
                          SizeTByReference needed);

  int medshim_flat_verify(String dir, String optionsJson, byte[] out, SizeT cap, SizeTByReference needed);

  int medshim_flat_step_begin(int ctx, String infno, byte[] msgid, SizeT cap);

  int medshim_flat_step_end(int ctx, String stepJson);

  /** @param adapter an {@link AdapterFn}, or {@link StdAdapterFn} on 32-bit Windows */
  int medshim_flat_replay(int handle, String optionsJson, Callback adapter, Pointer payload,
      byte[] out, SizeT cap, SizeTByReference needed);

  /** __stdcall on 32-bit Windows (MEDSHIM_FLATCALL). */
  boolean STDCALL = Platform.isWindows() && !Platform.is64Bit();

  /**
   * The library: the file named by the system property medshim.library or
   * the environment variable MEDSHIM_LIBRARY, else "medshim" on the JNA
   * search path (jna.library.path, then the system's).
   */
  Flat LIB = load();

  static Flat load() {
    String path = System.getProperty("medshim.library");
    if (path == null || path.isEmpty()) path = System.getenv("MEDSHIM_LIBRARY");
    if (path == null || path.isEmpty()) path = "medshim";
    Map<String, Object> opts = new HashMap<>();
    opts.put(Library.OPTION_STRING_ENCODING, "UTF-8");
    if (STDCALL) opts.put(Library.OPTION_CALLING_CONVENTION, Function.ALT_CONVENTION);
    return Native.load(path, Flat.class, opts);
  }
}

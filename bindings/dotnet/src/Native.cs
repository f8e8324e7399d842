// P/Invoke declarations of include/medshim/flat.h, one to one. Only int,
// int32, size_t (UIntPtr), UTF-8 text (byte[] with a NUL) and caller
// buffers cross: no struct is marshalled. Source compatible with .NET
// Framework 4.x, Mono and current .NET. On 32-bit Windows the library uses
// __stdcall (MEDSHIM_FLATCALL); elsewhere cdecl: compile a 32-bit Windows
// build with -define:MEDSHIM_WIN32_STDCALL (not tested on Windows yet).
using System;
using System.Runtime.InteropServices;

namespace Medshim
{
#if MEDSHIM_WIN32_STDCALL
    [UnmanagedFunctionPointer(CallingConvention.StdCall)]
#else
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
#endif
    internal delegate int AdapterFn(IntPtr request, IntPtr answer, UIntPtr cap, IntPtr payload);

    internal static class Native
    {
        // "medshim" resolves to libmedshim.so (Mono: also via a dllmap),
        // medshim.dll, libmedshim.dylib.
        internal const string Lib = "medshim";
#if MEDSHIM_WIN32_STDCALL
        internal const CallingConvention CC = CallingConvention.StdCall;
#else
        internal const CallingConvention CC = CallingConvention.Cdecl;
#endif

        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_version(byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_last_error(byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_last_result(byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_schedules_load(byte[] path, byte[] options, out int handle);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_schedules_add(int h, byte[] path, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_schedules_free(int h);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_report_outcome(int h, byte[] outcome);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_decide(int h, byte[] visit, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_journal_open(byte[] dir, byte[] options, out int handle);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_key_generate(byte[] path);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_journal_close(int h);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_defer(int h, byte[] claims, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_list(int h, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_report(int h, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_export(int h, byte[] options, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_verify(byte[] dir, byte[] options, byte[] o, UIntPtr cap, out UIntPtr needed);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_step_begin(int ctx, byte[] infno, byte[] msgid, UIntPtr cap);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_step_end(int ctx, byte[] step);
        [DllImport(Lib, CallingConvention = CC)] internal static extern int medshim_flat_replay(int h, byte[] options, AdapterFn fn, IntPtr payload, byte[] o, UIntPtr cap, out UIntPtr needed);
    }
}

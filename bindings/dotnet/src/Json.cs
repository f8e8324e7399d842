// The small JSON reader and writer the binding needs for the flat
// interface's text: objects are Dictionary<string, object>, arrays
// List<object>, integers long, other numbers double. No dependency.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Medshim
{
    public static class Json
    {
        public static object Parse(string s)
        {
            int i = 0;
            Ws(s, ref i);
            object v = Value(s, ref i);
            Ws(s, ref i);
            if (i != s.Length) throw new FormatException("trailing text at " + i);
            return v;
        }

        internal static Dictionary<string, object> Object(string s)
        {
            return (Dictionary<string, object>)Parse(s);
        }

        static void Ws(string s, ref int i)
        {
            while (i < s.Length && " \t\r\n".IndexOf(s[i]) >= 0) i++;
        }

        static void Expect(string s, ref int i, char c)
        {
            if (i >= s.Length || s[i] != c) throw new FormatException("expected '" + c + "' at " + i);
            i++;
        }

        static object Value(string s, ref int i)
        {
            if (i >= s.Length) throw new FormatException("unexpected end");
            char c = s[i];
            if (c == '{')
            {
                var m = new Dictionary<string, object>();
                i++; Ws(s, ref i);
                if (s[i] == '}') { i++; return m; }
                for (;;)
                {
                    Ws(s, ref i);
                    string k = Str(s, ref i);
                    Ws(s, ref i); Expect(s, ref i, ':'); Ws(s, ref i);
                    m[k] = Value(s, ref i);
                    Ws(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, '}');
                    return m;
                }
            }
            if (c == '[')
            {
                var l = new List<object>();
                i++; Ws(s, ref i);
                if (s[i] == ']') { i++; return l; }
                for (;;)
                {
                    Ws(s, ref i);
                    l.Add(Value(s, ref i));
                    Ws(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, ']');
                    return l;
                }
            }
            if (c == '"') return Str(s, ref i);
            if (string.CompareOrdinal(s, i, "true", 0, 4) == 0) { i += 4; return true; }
            if (string.CompareOrdinal(s, i, "false", 0, 5) == 0) { i += 5; return false; }
            if (string.CompareOrdinal(s, i, "null", 0, 4) == 0) { i += 4; return null; }
            int b = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            string t = s.Substring(b, i - b);
            if (t.Length == 0) throw new FormatException("unexpected character at " + b);
            if (t.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0) return double.Parse(t, CultureInfo.InvariantCulture);
            return long.Parse(t, CultureInfo.InvariantCulture);
        }

        static string Str(string s, ref int i)
        {
            Expect(s, ref i, '"');
            var b = new StringBuilder();
            for (;;)
            {
                char c = s[i++];
                if (c == '"') return b.ToString();
                if (c != '\\') { b.Append(c); continue; }
                char e = s[i++];
                switch (e)
                {
                    case 'n': b.Append('\n'); break;
                    case 't': b.Append('\t'); break;
                    case 'r': b.Append('\r'); break;
                    case 'b': b.Append('\b'); break;
                    case 'f': b.Append('\f'); break;
                    case 'u': b.Append((char)Convert.ToInt32(s.Substring(i, 4), 16)); i += 4; break;
                    default: b.Append(e); break;
                }
            }
        }

        public static string Write(object v)
        {
            var b = new StringBuilder();
            Write(b, v);
            return b.ToString();
        }

        static void Write(StringBuilder b, object v)
        {
            if (v == null) { b.Append("null"); return; }
            var str = v as string;
            if (str != null)
            {
                b.Append('"');
                foreach (char c in str)
                {
                    if (c == '"' || c == '\\') b.Append('\\').Append(c);
                    else if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4"));
                    else b.Append(c);
                }
                b.Append('"');
                return;
            }
            if (v is bool) { b.Append((bool)v ? "true" : "false"); return; }
            if (v is int || v is long || v is uint || v is short) { b.Append(Convert.ToInt64(v).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is double || v is float) { b.Append(Convert.ToDouble(v).ToString("R", CultureInfo.InvariantCulture)); return; }
            var dict = v as IDictionary;
            if (dict != null)
            {
                b.Append('{');
                bool first = true;
                foreach (DictionaryEntry e in dict)
                {
                    if (!first) b.Append(',');
                    first = false;
                    Write(b, Convert.ToString(e.Key, CultureInfo.InvariantCulture));
                    b.Append(':');
                    Write(b, e.Value);
                }
                b.Append('}');
                return;
            }
            var list = v as IEnumerable;
            if (list != null)
            {
                b.Append('[');
                bool first = true;
                foreach (object o in list)
                {
                    if (!first) b.Append(',');
                    first = false;
                    Write(b, o);
                }
                b.Append(']');
                return;
            }
            throw new ArgumentException("cannot write " + v.GetType().Name + " as JSON");
        }
    }
}

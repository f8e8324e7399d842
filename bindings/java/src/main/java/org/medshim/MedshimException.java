package org.medshim;

/**
 * A failure of libmedshim: the library's code (negative, e.g. -1) and its
 * name ("MEDSHIM_EINVAL"), the field it concerns ({@link #where()}, "" if
 * none), the input line ({@link #line()}, 0 if none) and the message. None
 * of them ever holds personal data (names, ID numbers, card numbers).
 */
public class MedshimException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int code;
  private final String name;
  private final String where;
  private final long line;
  private final String text;

  public MedshimException(int code, String name, String where, long line, String text) {
    super(name + " (" + code + "): " + text);
    this.code = code;
    this.name = name;
    this.where = where;
    this.line = line;
    this.text = text;
  }

  /** The ::medshim_code, e.g. -1 for MEDSHIM_EINVAL. */
  public int code() {
    return code;
  }

  /** "MEDSHIM_EINVAL". */
  public String name() {
    return name;
  }

  /** The field or JSON path, e.g. "total_fen"; "" when none. */
  public String where() {
    return where;
  }

  /** The line of the input (defer's JSON lines); 0 when none. */
  public long line() {
    return line;
  }

  /** The library's message, e.g. "line 2: total_fen: must be >= 0". */
  public String text() {
    return text;
  }
}

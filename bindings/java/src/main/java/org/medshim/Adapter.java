package org.medshim;

import java.util.Map;

/**
 * The HIS's platform adapter for {@link Journal#replay}: from the request
 * ("kind" settle or probe, "claim" with personal data, "replay_key",
 * "msgid", "attempt", "steps") to the answer ("outcome" settled, rejected,
 * retry, unknown or not_found; "settlement_id", amounts in fen, ...). See
 * include/medshim/flat.h. An exception counts as a lost answer: the claim
 * stays in doubt and is probed later, never resent blindly.
 */
@FunctionalInterface
public interface Adapter {
  Map<String, Object> call(Map<String, Object> request) throws Exception;
}

/* Test hooks of the replay engine: tests make a process die at a chosen step
 * of the protocol. Never set in production. */
#ifndef MEDSHIM_REPLAY_INTERNAL_H
#define MEDSHIM_REPLAY_INTERNAL_H

enum medshim__replay_step {
  REPLAY_STEP_BEFORE_IN_DOUBT = 1, /* about to record in_doubt */
  REPLAY_STEP_AFTER_IN_DOUBT = 2,  /* in_doubt written (durable with the
                                      first step), adapter not called */
  REPLAY_STEP_AFTER_ADAPTER = 3,   /* adapter answered, outcome not recorded */
  REPLAY_STEP_AFTER_RECORD = 4     /* outcome recorded */
};

/* Called at each step with the claim's visit_id, when set. */
extern void (*medshim__replay_hook)(int step, const char *visit_id);

#endif

# ctest's xjournal: write 40 claims, check them, replay, check all settled;
# then a writer ended the hard way after 100 acknowledgements of 1,000
# (TerminateProcess on Windows, SIGKILL here): none of them lost.
# Relative directories, so that a Windows build run under Wine finds them.
file(REMOVE_RECURSE ${WORK}/xjournal.d ${WORK}/xjournal-crash.d)
foreach(step "write;xjournal.d;40" "check;xjournal.d;40;0" "replay;xjournal.d;40"
             "check;xjournal.d;40;40" "crash;xjournal-crash.d;1000;100")
  execute_process(COMMAND ${EMULATOR} ${XJOURNAL} ${step}
                  WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "xjournal ${step}: exit ${rc}")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK}/xjournal.d ${WORK}/xjournal-crash.d)

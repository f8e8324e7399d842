# ctest's xjournal: write 40 claims, check them, replay, check all settled.
# A relative directory, so that a Windows build run under Wine finds it.
file(REMOVE_RECURSE ${WORK}/xjournal.d)
foreach(step "write;40" "check;40;0" "replay;40" "check;40;40")
  list(GET step 0 verb)
  list(SUBLIST step 1 -1 rest)
  execute_process(COMMAND ${EMULATOR} ${XJOURNAL} ${verb} xjournal.d ${rest}
                  WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "xjournal ${verb} ${rest}: exit ${rc}")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK}/xjournal.d)

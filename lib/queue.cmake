# medshim-queue: the hospital group's central claim queue in PostgreSQL
# (include/medshim/queue.h), a library of its own so that only those who
# use it need libpq. Built when libpq is found (Debian's libpq-dev); not
# for Windows yet.
option(MEDSHIM_QUEUE "Build the PostgreSQL queue (needs libpq)" ON)
if(MEDSHIM_QUEUE AND NOT WIN32)
  pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
  if(LIBPQ_FOUND)
    add_library(medshim_queue STATIC queue.c queue_schema.c)
    set_target_properties(medshim_queue PROPERTIES OUTPUT_NAME medshim-queue)
    target_compile_definitions(medshim_queue PRIVATE MEDSHIM_BUILDING)
    target_include_directories(medshim_queue PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(medshim_queue PUBLIC medshim_static PkgConfig::LIBPQ)
  else()
    message(STATUS "libpq not found: the PostgreSQL queue is not built "
                   "(install libpq-dev)")
  endif()
endif()

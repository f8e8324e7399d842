# Cross-compiling for Windows with Debian's mingw-w64 (see .ci/windows).
# -DMEDSHIM_WIN_ARCH=x64|x86 picks the target; -DMEDSHIM_WIN_DEPS=PREFIX is
# where .ci/win-deps installed OpenSSL's libcrypto, jansson and Check.
# Programs run under Wine (the emulator CTest uses for the tests).
set(CMAKE_SYSTEM_NAME Windows)
if(NOT MEDSHIM_WIN_ARCH)
  set(MEDSHIM_WIN_ARCH x64)
endif()
if(MEDSHIM_WIN_ARCH STREQUAL "x64")
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
  set(_medshim_host x86_64-w64-mingw32)
elseif(MEDSHIM_WIN_ARCH STREQUAL "x86")
  set(CMAKE_SYSTEM_PROCESSOR i686)
  set(_medshim_host i686-w64-mingw32)
else()
  message(FATAL_ERROR "MEDSHIM_WIN_ARCH must be x64 or x86, not ${MEDSHIM_WIN_ARCH}")
endif()
# Kept for try_compile, which re-reads this file.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MEDSHIM_WIN_ARCH MEDSHIM_WIN_DEPS)
set(CMAKE_C_COMPILER ${_medshim_host}-gcc)
set(CMAKE_RC_COMPILER ${_medshim_host}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_medshim_host} ${MEDSHIM_WIN_DEPS})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(OPENSSL_ROOT_DIR ${MEDSHIM_WIN_DEPS})
set(ENV{PKG_CONFIG_LIBDIR} ${MEDSHIM_WIN_DEPS}/lib/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
find_program(MEDSHIM_WINE NAMES wine)
if(MEDSHIM_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MEDSHIM_WINE})
endif()
# One DLL to ship: libcrypto, jansson, zlib, winpthreads and libgcc are
# linked in statically.
set(ZLIB_USE_STATIC_LIBS ON)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

/**
 * @file export.h
 * @brief The one export macro of libmedshim.
 *
 * Thread safety: not applicable (declarations only).
 *
 * The library is built with hidden visibility; only declarations marked
 * MEDSHIM_API are exported from the shared object. Static builds define
 * MEDSHIM_STATIC (the CMake target does this for its consumers).
 */
#ifndef MEDSHIM_EXPORT_H
#define MEDSHIM_EXPORT_H

#if defined(MEDSHIM_STATIC)
#define MEDSHIM_API
#elif defined(_WIN32)
#if defined(MEDSHIM_BUILDING)
#define MEDSHIM_API __declspec(dllexport)
#else
#define MEDSHIM_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define MEDSHIM_API __attribute__((visibility("default")))
#else
#define MEDSHIM_API
#endif

#endif /* MEDSHIM_EXPORT_H */

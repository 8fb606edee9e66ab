/*
 * Attribute macros shared by every module.
 *
 * They let the compiler check what the headers promise: printf formats, NULL
 * sentinels, results that must not be ignored, and allocator/deallocator pairs.
 * GCC >= 11 understands malloc(dealloc, argno); clang 14 rejects the
 * two-argument form, so under clang it degrades to plain malloc.
 */
#ifndef POP_COMPILER_H
#define POP_COMPILER_H

#include <stdlib.h> /* free(), named by ATTR_MALLOC(free) */

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_SENTINEL          __attribute__((sentinel))
#define ATTR_NODISCARD         __attribute__((warn_unused_result))
#define ATTR_NORETURN          __attribute__((noreturn))
#define ATTR_UNUSED            __attribute__((unused))
#define ATTR_COLD              __attribute__((cold))

#if defined(__clang__) || !defined(__GNUC__) || __GNUC__ < 11
#define ATTR_MALLOC(dealloc) __attribute__((malloc, warn_unused_result))
#else
#define ATTR_MALLOC(dealloc) __attribute__((malloc, malloc(dealloc, 1), warn_unused_result))
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif

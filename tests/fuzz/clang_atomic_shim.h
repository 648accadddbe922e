/*
 * clang_atomic_shim.h -- force-included (-include) into the few library
 * files that apply GCC's __atomic builtins to _Atomic-qualified objects,
 * which GCC accepts and clang rejects ("address argument to atomic
 * operation must be a pointer to integer").  Each macro casts the
 * pointer to the unqualified type first (same size and layout), so the
 * builtin and its memory order are unchanged.  Used by the clang fuzz
 * build only (tests/fuzz/CMakeLists.txt).
 */
#ifndef WB_CLANG_ATOMIC_SHIM_H
#define WB_CLANG_ATOMIC_SHIM_H

#define WB_UNATOMIC_(p) ((__typeof__((void)0, *(p)) *)(p))
#define __atomic_load_n(p, o) __atomic_load_n(WB_UNATOMIC_(p), o)
#define __atomic_store_n(p, v, o) __atomic_store_n(WB_UNATOMIC_(p), v, o)
#define __atomic_fetch_or(p, v, o) __atomic_fetch_or(WB_UNATOMIC_(p), v, o)
#define __atomic_fetch_and(p, v, o) __atomic_fetch_and(WB_UNATOMIC_(p), v, o)

#endif

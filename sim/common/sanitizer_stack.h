#pragma once
// AddressSanitizer and SystemC's coroutines. Debian's libsystemc announces
// each coroutine switch to ASan (__sanitizer_start/finish_switch_fiber), but
// its main coroutine has no recorded stack (base 0, size 0), so when the
// simulation switches back to sc_main's stack ASan records that stack's
// bounds as empty. Every C++ exception thrown on it afterwards then gets
// "ASan is ignoring requested __asan_handle_no_return" and leaves stale
// redzones behind, which later calls report as stack-buffer-overflows
// (false positives). After sc_start() returns we are on the thread's own
// stack, so telling ASan that stack's real bounds restores correct reports.
// Nothing happens in a build without ASan.
#if defined(__SANITIZE_ADDRESS__)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace xpu {

inline void restore_stack_bounds_after_simulation() {
#if defined(__SANITIZE_ADDRESS__)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* base = nullptr;
  size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &base, &size) == 0;
  pthread_attr_destroy(&attr);
  if (!ok || !base || !size) return;
  // A "switch" from this stack to itself: ASan takes the given bounds.
  __sanitizer_start_switch_fiber(nullptr, base, size);
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

}  // namespace xpu

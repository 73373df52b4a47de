/* Linked into every program of the sanitizer build (scripts/sanitize.sh). Two things the runtimes' options
   cannot say:

   - LeakSanitizer checks at exit only a process that exits with status 0. A failing dpsolve leaves main at its
     first error without freeing what it built, on purpose (the other ranks may be gone, and the system frees it
     all): what a failed process still holds is no leak. A program that succeeds must have freed everything,
     refusals it survived included.
   - UBSan reports go to UBSAN_OPTIONS' log_path. gcc links UBSan as a runtime of its own (libubsan) beside
     ASan's, and with ASan present it never reads log_path: its reports went to stderr, which a test of a run
     that must fail throws away with the rest of the run's output. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static int dps_exit_status;

static void DpsRecordExitStatus(int status, void *ctx)
{
  (void)ctx;
  dps_exit_status = status;
}

/* LeakSanitizer asks this (a weak hook of its interface) before its check at exit */
int __lsan_is_turned_off(void)
{
  return dps_exit_status != 0;
}

__attribute__((constructor)) static void DpsSanitizerHooks(void)
{
  const char *options = getenv("UBSAN_OPTIONS"), *p = options ? strstr(options, "log_path=") : NULL;
  void       *ubsan   = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
  void (*set_path)(const char *) = ubsan ? (void (*)(const char *))dlsym(ubsan, "__sanitizer_set_report_path") : NULL;

  /* registered after the ASan runtime's own at-exit leak check (set up before any constructor), so it runs first */
  on_exit(DpsRecordExitStatus, NULL);
  if (p && set_path) {
    static char path[4096];
    size_t      n = strcspn(p + 9, ":");
    if (n < sizeof(path)) {
      memcpy(path, p + 9, n);
      path[n] = 0;
      set_path(path);
    }
  }
}

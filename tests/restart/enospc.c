/* A full disk without root or mounts, for tests/restart/disk_full.sh: an LD_PRELOAD library that makes writes
   to the files whose path contains $DPS_ENOSPC_PATH fail with ENOSPC ("No space left on device") once
   $DPS_ENOSPC_AFTER bytes (default 0) were written to them by this process, as a file system that fills up does.
   It watches the descriptors opened by name (open, open64, openat, creat: what MPI-IO and HDF5's drivers use)
   and fails write, pwrite, writev, pwritev and fallocate on them. ftruncate is left alone: extending a file
   only changes its size (no blocks), which a full disk allows too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536

static unsigned char watched[MAX_FD];
static long long     written, budget = -1;

static int matches(const char *path)
{
  const char *pattern = getenv("DPS_ENOSPC_PATH");

  if (budget < 0) {
    const char *after = getenv("DPS_ENOSPC_AFTER");
    budget            = after ? atoll(after) : 0;
  }
  return path && pattern && pattern[0] && strstr(path, pattern);
}

static void watch(int fd, const char *path)
{
  if (fd >= 0 && fd < MAX_FD) watched[fd] = (unsigned char)matches(path);
}

/* whether a write of n bytes to fd must fail; counts the bytes of those that may go through */
static int full(int fd, size_t n)
{
  if (fd < 0 || fd >= MAX_FD || !watched[fd]) return 0;
  if (written + (long long)n > budget) {
    errno = ENOSPC;
    return 1;
  }
  written += (long long)n;
  return 0;
}

static size_t iovlen(const struct iovec *iov, int cnt)
{
  size_t n = 0;
  for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
  return n;
}

#define NEXT(name) \
  static __typeof__(&name) real_; \
  if (!real_) real_ = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static mode_t mode_of(int flags, va_list ap)
{
  return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
  va_list ap;
  mode_t  mode;
  int     fd;
  NEXT(open);
  va_start(ap, flags);
  mode = mode_of(flags, ap);
  va_end(ap);
  fd = real_(path, flags, mode);
  watch(fd, path);
  return fd;
}

int open64(const char *path, int flags, ...)
{
  va_list ap;
  mode_t  mode;
  int     fd;
  NEXT(open64);
  va_start(ap, flags);
  mode = mode_of(flags, ap);
  va_end(ap);
  fd = real_(path, flags, mode);
  watch(fd, path);
  return fd;
}

int openat(int dir, const char *path, int flags, ...)
{
  va_list ap;
  mode_t  mode;
  int     fd;
  NEXT(openat);
  va_start(ap, flags);
  mode = mode_of(flags, ap);
  va_end(ap);
  fd = real_(dir, path, flags, mode);
  watch(fd, path);
  return fd;
}

int creat(const char *path, mode_t mode)
{
  return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd)
{
  NEXT(close);
  if (fd >= 0 && fd < MAX_FD) watched[fd] = 0;
  return real_(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
  NEXT(write);
  return full(fd, n) ? -1 : real_(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
  NEXT(pwrite);
  return full(fd, n) ? -1 : real_(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
  NEXT(pwrite64);
  return full(fd, n) ? -1 : real_(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
  NEXT(writev);
  return full(fd, iovlen(iov, cnt)) ? -1 : real_(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
  NEXT(pwritev);
  return full(fd, iovlen(iov, cnt)) ? -1 : real_(fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
  NEXT(pwritev64);
  return full(fd, iovlen(iov, cnt)) ? -1 : real_(fd, iov, cnt, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
  NEXT(fallocate);
  return full(fd, (size_t)len) ? -1 : real_(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
  NEXT(posix_fallocate);
  /* returns the error instead of setting errno */
  return full(fd, (size_t)len) ? ENOSPC : real_(fd, off, len);
}

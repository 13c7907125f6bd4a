/*
 * coyotes-spawner: starts a channel process's commands so that starting one does not cost a fork
 * of a Node process. One per channel process, which spawns it once (detached: it leads its own
 * session, so every command's process group lies in that session) and talks to it over its
 * stdin (requests) and stdout (events). Built at install by scripts/build-native.mjs with `cc -O2`.
 *
 * Frames, both ways: u32 length of what follows (little-endian), u8 type, u32 id, payload.
 *   requests   'S' spawn: u32 argc, u32 envc, u32 ngroups, i32 uid (-1 = own), i32 gid (-1 = own),
 *                         u32 groups[ngroups], then NUL-terminated strings: cwd ("" = own), argv, env
 *              'C' close: stop reading the command's pipes (a grandchild keeps them open)
 *   events     'P' spawned: i32 pid, or -errno when the command could not start
 *              'O' output: u8 stream (1 stdout, 2 stderr), the bytes
 *              'E' end of a stream: u8 stream
 *              'X' exit: i32 exit code (-1 when signaled), i32 signal number (0 when exited),
 *                        i32 1 when processes of its group outlived it (`cmd &`), else 0
 *
 * Commands: own process group, stdin /dev/null, stdout/stderr piped and read here with epoll,
 * signal mask and dispositions reset. posix_spawn (CLONE_VM|CLONE_VFORK in glibc) when no user
 * change is asked; fork from this small process for -run-as (posix_spawn cannot setuid).
 * Backpressure: events are gathered per loop turn (at most 256 KiB) and written blocking, so a
 * reader that falls behind stops this loop, and with it the commands' pipes: memory stays flat
 * on both sides.
 * When the channel process goes away (EOF on stdin, or its death signal), every command's process
 * group is SIGKILLed: no command runs on unsupervised.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONTROL_IN 0
#define CONTROL_OUT 1
#define MAX_FRAME (64u << 20)
#define READ_CHUNK 65536

struct job {
  int used;
  uint32_t id;
  pid_t pid;
  int fds[2]; /* stdout, stderr read ends; -1 once closed */
  int exited;
};

static struct job *jobs;
static size_t njobs, jobs_cap;
static int epfd;
static char chunk[READ_CHUNK];

static void fail(const char *what) {
  fprintf(stderr, "coyotes-spawner: %s: %s\n", what, strerror(errno));
  exit(70);
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void kill_all_and_exit(int code) {
  for (size_t i = 0; i < njobs; i++)
    if (jobs[i].used) kill(-jobs[i].pid, SIGKILL);
  exit(code);
}

/* Events wait here until the end of a loop turn: one write carries many of them. */
static unsigned char outbuf[4 * READ_CHUNK];
static size_t outlen;

static void write_all(const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(CONTROL_OUT, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      kill_all_and_exit(0); /* the channel process is gone */
    }
    p += w;
    len -= (size_t)w;
  }
}

/* Blocks while the channel process is behind: that is the backpressure on every command's pipes. */
static void flush(void) {
  write_all(outbuf, outlen);
  outlen = 0;
}

static void emit(char type, uint32_t id, const void *head, size_t headlen, const void *body, size_t bodylen) {
  size_t total = 9 + headlen + bodylen;
  if (outlen + total > sizeof outbuf) flush();
  unsigned char *frame = outbuf + outlen;
  put32(frame, (uint32_t)(total - 4));
  frame[4] = (unsigned char)type;
  put32(frame + 5, id);
  memcpy(frame + 9, head, headlen);
  if (bodylen) memcpy(frame + 9 + headlen, body, bodylen);
  outlen += total;
}

static void emit_i32(char type, uint32_t id, int32_t a) {
  unsigned char b[4];
  put32(b, (uint32_t)a);
  emit(type, id, b, 4, NULL, 0);
}

static struct job *new_job(void) {
  for (size_t i = 0; i < njobs; i++)
    if (!jobs[i].used) return &jobs[i];
  if (njobs == jobs_cap) {
    jobs_cap = jobs_cap ? jobs_cap * 2 : 16;
    jobs = realloc(jobs, jobs_cap * sizeof *jobs);
    if (!jobs) fail("realloc");
  }
  return &jobs[njobs++];
}

static void maybe_free(struct job *j) {
  if (j->exited && j->fds[0] < 0 && j->fds[1] < 0) j->used = 0;
}

static void close_stream(struct job *j, int s) {
  if (j->fds[s] < 0) return;
  /* no EPOLL_CTL_DEL: the fd is ours alone (close-on-exec, and a spawn returns only once its child
     has exec'd), so closing it removes it from the epoll set */
  close(j->fds[s]);
  j->fds[s] = -1;
}

/* The program execvp would run: argv0 itself when it names a path, else the first match on PATH. */
static int resolve(const char *file, const char *path, char *out) {
  if (strchr(file, '/')) {
    if (strlen(file) >= PATH_MAX) return ENAMETOOLONG;
    strcpy(out, file);
    return 0;
  }
  if (!*file) return ENOENT;
  if (strlen(file) > NAME_MAX) return ENAMETOOLONG; /* as execvp says, before any PATH entry */
  if (!path) path = "/bin:/usr/bin"; /* execvp's default */
  int err = ENOENT;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dirlen = (size_t)(end - p);
    if (dirlen + 1 + strlen(file) < PATH_MAX) {
      if (dirlen == 0) strcpy(out, file);
      else { memcpy(out, p, dirlen); out[dirlen] = '/'; strcpy(out + dirlen + 1, file); }
      struct stat st;
      if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
        if (access(out, X_OK) == 0) return 0;
        err = EACCES;
      }
    }
    if (!*end) break;
    p = end;
  }
  return err;
}

/* fork from this small process: the one way to drop to another user before exec. */
static int spawn_as_user(pid_t *pid, char **argv, char **env, const char *cwd, int out, int err, uid_t uid, gid_t gid,
                         gid_t *groups, size_t ngroups) {
  int report[2];
  if (pipe2(report, O_CLOEXEC)) return errno;
  pid_t child = fork();
  if (child < 0) { int e = errno; close(report[0]); close(report[1]); return e; }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    int e = 0;
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) e = errno;
    if (!e && cwd && chdir(cwd)) e = errno;
    if (!e && setgroups(ngroups, groups)) e = errno;
    if (!e && setgid(gid)) e = errno;
    if (!e && setuid(uid)) e = errno;
    if (!e) {
      environ = env;
      execvp(argv[0], argv);
      e = errno;
    }
    ssize_t ignored = write(report[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  int e = 0;
  ssize_t r;
  do r = read(report[0], &e, sizeof e); while (r < 0 && errno == EINTR);
  close(report[0]);
  if (r == sizeof e) { waitpid(child, NULL, 0); return e; }
  *pid = child;
  return 0;
}

static int spawn_plain(pid_t *pid, char **argv, char **env, const char *cwd, int out, int err) {
  const char *path = NULL;
  for (char **e = env; *e; e++)
    if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
  char file[PATH_MAX];
  int rc = resolve(argv[0], path, file);
  if (rc) return rc;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  rc = posix_spawn(pid, file, &fa, &at, argv, env);
  if (rc == ENOEXEC) {
    /* a script without #!: execvp hands it to /bin/sh, and so do we */
    size_t argc = 0;
    while (argv[argc]) argc++;
    char **shargv = calloc(argc + 2, sizeof *shargv);
    if (shargv) {
      shargv[0] = "/bin/sh";
      shargv[1] = file;
      for (size_t i = 1; i <= argc; i++) shargv[i + 1] = argv[i];
      rc = posix_spawn(pid, "/bin/sh", &fa, &at, shargv, env);
      free(shargv);
    }
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return rc;
}

static void do_spawn(uint32_t id, const unsigned char *p, size_t len) {
  if (len < 20) { emit_i32('P', id, -EINVAL); return; }
  uint32_t argc = get32(p), envc = get32(p + 4), ngroups = get32(p + 8);
  int32_t uid = (int32_t)get32(p + 12), gid = (int32_t)get32(p + 16);
  size_t off = 20;
  if (ngroups > 65536 || argc == 0 || off + (size_t)ngroups * 4 > len) { emit_i32('P', id, -EINVAL); return; }
  gid_t *groups = calloc(ngroups + 1, sizeof *groups);
  char **strs = calloc((size_t)argc + envc + 3, sizeof *strs);
  if (!groups || !strs) fail("calloc");
  for (uint32_t i = 0; i < ngroups; i++, off += 4) groups[i] = get32(p + off);
  /* strs: cwd, argv..., NULL, env..., NULL (calloc put the NULLs) */
  size_t want = 1 + (size_t)argc + envc, got = 0;
  while (got < want && off < len) {
    const char *s = (const char *)p + off;
    const char *nul = memchr(s, 0, len - off);
    if (!nul) break;
    strs[got <= argc ? got : got + 1] = (char *)s;
    got++;
    off += (size_t)(nul - s) + 1;
  }
  if (got != want) { free(groups); free(strs); emit_i32('P', id, -EINVAL); return; }
  const char *cwd = strs[0][0] ? strs[0] : NULL;
  char **argv = strs + 1, **env = strs + 2 + argc;

  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC)) { emit_i32('P', id, -errno); free(groups); free(strs); return; }
  if (pipe2(e, O_CLOEXEC)) { emit_i32('P', id, -errno); close(o[0]); close(o[1]); free(groups); free(strs); return; }
  pid_t pid = 0;
  int rc = uid >= 0 || gid >= 0
               ? spawn_as_user(&pid, argv, env, cwd, o[1], e[1], uid >= 0 ? (uid_t)uid : getuid(),
                               gid >= 0 ? (gid_t)gid : getgid(), groups, ngroups)
               : spawn_plain(&pid, argv, env, cwd, o[1], e[1]);
  close(o[1]);
  close(e[1]);
  free(groups);
  free(strs);
  if (rc) { close(o[0]); close(e[0]); emit_i32('P', id, -rc); return; }
  struct job *j = new_job();
  *j = (struct job){ 1, id, pid, { o[0], e[0] }, 0 };
  size_t index = (size_t)(j - jobs);
  for (int s = 0; s < 2; s++) {
    fcntl(j->fds[s], F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)index << 1 | (uint64_t)s };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, j->fds[s], &ev)) fail("epoll_ctl");
  }
  emit_i32('P', id, pid);
}

static struct job *job_by_id(uint32_t id) {
  for (size_t i = 0; i < njobs; i++)
    if (jobs[i].used && jobs[i].id == id) return &jobs[i];
  return NULL;
}

static void read_stream(size_t index, int s) {
  if (index >= njobs) return;
  struct job *j = &jobs[index];
  if (!j->used || j->fds[s] < 0) return;
  ssize_t n = read(j->fds[s], chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  unsigned char stream = (unsigned char)(s + 1);
  if (n > 0) { emit('O', j->id, &stream, 1, chunk, (size_t)n); return; }
  close_stream(j, s);
  emit('E', j->id, &stream, 1, NULL, 0);
  maybe_free(j);
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < njobs; i++) {
      struct job *j = &jobs[i];
      if (!j->used || j->pid != pid || j->exited) continue;
      j->exited = 1;
      unsigned char b[12];
      put32(b, (uint32_t)(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
      put32(b + 4, (uint32_t)(WIFSIGNALED(status) ? WTERMSIG(status) : 0));
      /* asked here, where it costs one syscall: the channel process reaps a group only when told */
      put32(b + 8, kill(-pid, 0) == 0);
      emit('X', j->id, b, 12, NULL, 0);
      maybe_free(j);
      break;
    }
  }
}

static unsigned char *inbuf;
static size_t inlen, incap;

/* Reads requests; answers 0 on EOF (the channel process is gone). */
static int read_control(void) {
  if (incap - inlen < READ_CHUNK) {
    incap = incap ? incap * 2 : 2 * READ_CHUNK;
    inbuf = realloc(inbuf, incap);
    if (!inbuf) fail("realloc");
  }
  ssize_t n = read(CONTROL_IN, inbuf + inlen, incap - inlen);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  inlen += (size_t)n;
  size_t off = 0;
  while (inlen - off >= 4) {
    uint32_t len = get32(inbuf + off);
    if (len < 5 || len > MAX_FRAME) { errno = EPROTO; fail("bad request frame"); }
    if (inlen - off - 4 < len) break;
    const unsigned char *f = inbuf + off + 4;
    uint32_t id = get32(f + 1);
    if (f[0] == 'S') do_spawn(id, f + 5, len - 5);
    else if (f[0] == 'C') {
      struct job *j = job_by_id(id);
      if (j) { close_stream(j, 0); close_stream(j, 1); maybe_free(j); }
    }
    off += 4 + len;
  }
  memmove(inbuf, inbuf + off, inlen - off);
  inlen -= off;
  /* a frame larger than the buffer: grow for it */
  if (inlen >= 4 && get32(inbuf) + 4 > incap) {
    incap = get32(inbuf) + 4 + READ_CHUNK;
    inbuf = realloc(inbuf, incap);
    if (!inbuf) fail("realloc");
  }
  return 1;
}

int main(int argc, char **argv) {
  /* the channel process's death reaches us even if something else held our stdin open */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (argc > 1 && getppid() != (pid_t)atoi(argv[1])) return 0;
  /* a Ctrl-C or a process manager's signal to a group is for Coyotes' own processes to handle */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) fail("signalfd");
  /* events are written blocking; our end of the pipe may have come non-blocking */
  fcntl(CONTROL_OUT, F_SETFL, fcntl(CONTROL_OUT, F_GETFL) & ~O_NONBLOCK);
  fcntl(CONTROL_IN, F_SETFD, FD_CLOEXEC);
  fcntl(CONTROL_OUT, F_SETFD, FD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fail("epoll_create1");
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, CONTROL_IN, &ev)) fail("epoll_ctl");
  ev.data.u64 = UINT64_MAX - 1;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev)) fail("epoll_ctl");
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == UINT64_MAX) {
        if (!read_control()) kill_all_and_exit(0);
      } else if (tag == UINT64_MAX - 1) {
        struct signalfd_siginfo si;
        int term = 0;
        while (read(sigfd, &si, sizeof si) == sizeof si)
          if (si.ssi_signo == SIGTERM) term = 1;
        if (term) kill_all_and_exit(0);
        reap();
      } else {
        read_stream((size_t)(tag >> 1), (int)(tag & 1));
      }
    }
    if (outlen) flush();
  }
}

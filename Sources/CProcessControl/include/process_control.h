#ifndef PROCESS_CONTROL_H
#define PROCESS_CONTROL_H

#include <sys/types.h>

/// For a child of a local sweep: asks the kernel to SIGKILL this process when its parent dies
/// (Linux PR_SET_PDEATHSIG; prctl is variadic, so Swift cannot call it directly), then checks
/// that `parent` is still the parent, since it may have died before the request.
/// Returns 0 when armed and the parent is alive, 1 when the parent is already gone, -1 (errno
/// set) when the request failed; elsewhere than Linux, 0 without doing anything.
int pc_die_with_parent(pid_t parent);

#endif

#include "process_control.h"

#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

int pc_die_with_parent(pid_t parent) {
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -1;
    // The parent may have died between our fork and the request: then we were reparented.
    return getppid() == parent ? 0 : 1;
#else
    (void)parent;
    return 0;
#endif
}

/* pimutex.h - mutexes that moat run's event loop shares with worker threads. The loop may
 * run SCHED_FIFO (`moat run --realtime`, docs/performance.md): when it waits for a lock a
 * normal-priority worker holds, the worker must run at the loop's priority until it lets go
 * (priority inheritance), or any busy normal task on that CPU stalls detection. */
#ifndef MOAT_PIMUTEX_H
#define MOAT_PIMUTEX_H

#include <pthread.h>

/* Initialise m with PTHREAD_PRIO_INHERIT (a plain mutex if the system refuses it).
 * Returns 0 or the pthread error. */
int pimutex_init(pthread_mutex_t *m);

#endif /* MOAT_PIMUTEX_H */

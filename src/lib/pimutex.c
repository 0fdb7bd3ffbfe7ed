/* pimutex.c - priority-inheriting mutexes for locks the event loop shares (pimutex.h). */
#include "pimutex.h"

int pimutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t ma;
	int err;

	if ((err = pthread_mutexattr_init(&ma)))
		return err;
	if (pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT) == 0 &&
	    pthread_mutex_init(m, &ma) == 0) {
		pthread_mutexattr_destroy(&ma);
		return 0;
	}
	pthread_mutexattr_destroy(&ma);
	return pthread_mutex_init(m, NULL);
}

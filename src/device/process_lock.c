/* The one piece of process-wide state in embcl: a lock (and what it guards)
 * around the OpenCL and CLBlast calls that are not safe to make from two
 * threads at once in a fresh process, although each thread has its own
 * runtime. PoCL initialises its devices during the first platform and
 * device enumeration without a lock of its own: two threads enumerating at
 * once saw CL_DEVICE_NOT_FOUND most of the time, once a crash in
 * clGetDeviceInfo. CLBlast fills its kernel database on its first call,
 * racing likewise. Runtimes cannot share anything, so only a lock the whole
 * process sees orders these calls; everything else stays per runtime. */
#include <pthread.h>

#include "device/process_lock.h"

static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static int clblast_ready; /* guarded by process_lock */

void embcl_process_lock(void)
{
    pthread_mutex_lock(&process_lock);
}

void embcl_process_unlock(void)
{
    pthread_mutex_unlock(&process_lock);
}

int embcl_clblast_first_begin(void)
{
    pthread_mutex_lock(&process_lock);
    if (clblast_ready) {
        pthread_mutex_unlock(&process_lock);
        return 0;
    }
    return 1;
}

void embcl_clblast_first_end(int succeeded)
{
    if (succeeded)
        clblast_ready = 1;
    pthread_mutex_unlock(&process_lock);
}

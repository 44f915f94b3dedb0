/* The process-wide lock (src/device/process_lock.c says why it exists). */
#ifndef EMBCL_SRC_DEVICE_PROCESS_LOCK_H
#define EMBCL_SRC_DEVICE_PROCESS_LOCK_H

/* Held around platform and device enumeration and context creation (every
 * time: runtimes are created rarely, and the first time is the one that
 * must not overlap). */
void embcl_process_lock(void);
void embcl_process_unlock(void);

/* Around a CLBlast call: begin returns 1, with the lock held, until a first
 * call succeeded in this process (the caller then makes its call and passes
 * whether it succeeded to end, which releases the lock); 0 afterwards, with
 * no lock held and nothing to end. */
int embcl_clblast_first_begin(void);
void embcl_clblast_first_end(int succeeded);

#endif

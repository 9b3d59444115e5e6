// One thread count for the whole CPU path: oneDNN's OpenMP pool, the host twins' parallel loops (the same pool),
// OpenBLAS's pool and the SQ step's helper thread. At most this many threads compute at any time, and none spins
// between steps (OpenBLAS only ever runs in the reference path; the SQ helper waits on a condition variable).
#pragma once

namespace sq {

// SQ_CPU_THREADS when it is set to a positive number, else the number of cores this process may run on.
int default_cpu_threads();

// The cores this process may run on (its CPU affinity), and the machine's hardware threads (data-parallel CPU ranks
// share those: dist::rank_cpu_threads).
int usable_cpu_cores();
int node_cpu_cores();

// The count in force (default_cpu_threads() until set_cpu_threads is called).
int cpu_threads();

// Sets the count for the process (n >= 1; 0 means default_cpu_threads()). Call it outside a step, from the thread
// that runs the steps (OpenMP's count is that thread's setting). Results are deterministic for a given count.
void set_cpu_threads(int n);

// OpenMP threads that wait without spinning: GNU OpenMP spins (up to 300000 rounds) at every barrier unless
// OMP_WAIT_POLICY says otherwise, read once when libgomp loads, before main(). On a shared or busy machine those
// spinning waits eat the time slices the computing threads need (measured: a small_cnn step 4x to 10x slower at
// load 16 on 2 cores). Call first thing in main(): when OMP_WAIT_POLICY is unset, it sets PASSIVE and re-executes
// the program (/proc/self/exe, same arguments); a user's own OMP_WAIT_POLICY is left alone. Returns if re-executing
// is not possible.
void exec_with_passive_openmp_waits(char** argv);

}  // namespace sq

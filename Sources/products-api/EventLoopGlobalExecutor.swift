import Atomics
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs Swift Concurrency's global (generic) jobs on the NIO event loops that also serve HTTP and
/// Postgres, so a request handler continues on the loop that read its socket instead of hopping
/// to the cooperative pool and back on every await.
///
/// NIO offers the same takeover, but it runs each job *isolated to the event loop's serial
/// executor*. A task running that way must then switch executors (enqueue a job and wait for it)
/// on every call into a nonisolated async function, which measured as a tenth of the API's CPU
/// per create. Jobs sent to the global executor belong to the generic executor, so that is how
/// this hook runs them: on the loop's thread, with no isolation.
enum EventLoopGlobalExecutor {
    private typealias EnqueueGlobalHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// Installs the hook once, before anything else awaits; returns false (leaving Swift's own
    /// executor in place) if the runtime offers no hook or another one is installed.
    @discardableResult
    static func install() -> Bool {
        guard let hookAddress = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        // The runtime reads the hook without locks; swap it in atomically and only if unset.
        let hook = UnsafeAtomic<UnsafeRawPointer?>(at: hookAddress.assumingMemoryBound(to: UnsafeRawPointer?.AtomicRepresentation.self))
        return withUnsafeTemporaryAllocation(of: EnqueueGlobalHook.self, capacity: 1) { slot -> Bool in
            guard let base = slot.baseAddress else { return false }
            base.initialize(to: { job, _ in
                // `any()` prefers the calling thread's own loop, so a task stays where it runs.
                MultiThreadedEventLoopGroup.singleton.any().execute {
                    job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
                }
            })
            return base.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) { function in
                hook.compareExchange(expected: nil, desired: function.pointee, ordering: .sequentiallyConsistent).exchanged
            }
        }
    }
}

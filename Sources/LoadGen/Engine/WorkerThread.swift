import Glibc

/// POSIX threads for the workers. The entry point is a global function: a closure handed to pthread_create
/// from top-level code would be main-actor isolated in Swift 6 and trap on another thread (DESIGN.md section 7).
enum WorkerThread {
    /// Starts a thread running `body`.
    static func start(_ body: @escaping @Sendable () -> Void) throws(LoadGenError) -> pthread_t {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, loadGenThreadMain, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw .system("pthread_create", result)
        }
        return handle
    }

    static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}

private func loadGenThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let thread = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
    thread.body()
    return nil
}

/// One worker's whole life on its thread, with the transport its configuration asks for.
func runWorker(
    descriptor: Int32, server: ServerAddress, tcp: Bool, templates: QueryTemplates, plan: WorkerPlan,
    sequence: RunSequence, stats: WorkerStats
) {
    if tcp {
        var worker = Worker(
            transport: TCPTransport(descriptor: descriptor, server: server), templates: templates, plan: plan,
            sequence: sequence, stats: stats)
        worker.run()
    } else {
        var worker = Worker(
            transport: UDPTransport(descriptor: descriptor), templates: templates, plan: plan, sequence: sequence,
            stats: stats)
        worker.run()
    }
}

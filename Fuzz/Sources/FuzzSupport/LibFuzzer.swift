import CLibFuzzer
import Foundation

/// Runs libFuzzer with this process's arguments (`-max_total_time=60 CORPUS`, or files to
/// replay), calling `callback` with each input; exits with libFuzzer's status.
public func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

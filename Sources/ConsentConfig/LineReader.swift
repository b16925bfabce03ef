import Foundation

/// Why an input file could not be read.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }

    init(path: String, errno code: Int32) {
        self.path = path
        self.reason = String(cString: strerror(code))
    }
}

/// Reads a file (or standard input) line by line through one fixed buffer, so memory stays
/// constant however large the input. A line is the bytes before `\n`, without a trailing `\r`;
/// a last line without `\n` counts. Lines longer than `maxLineBytes` are not buffered: they are
/// reported as `.tooLong` and skipped.
public final class LineReader {
    public enum Line {
        /// Valid until `body` returns.
        case text(UnsafeRawBufferPointer)
        case tooLong(byteCount: Int)
    }

    public let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    /// `path` nil or `-` reads standard input.
    public init(path: String?) throws(InputError) {
        if let path, path != "-" {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw InputError(path: path, errno: errno) }
            self.path = path
            descriptor = fd
            ownsDescriptor = true
        } else {
            self.path = "<stdin>"
            descriptor = STDIN_FILENO
            ownsDescriptor = false
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public func forEachLine(maxLineBytes: Int, _ body: (Line) throws -> Void) throws {
        let capacity = max(1 << 20, maxLineBytes + 2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { buffer.deallocate() }
        var filled = 0
        /// Bytes of an over-long line already skipped (its start is gone from the buffer).
        var skipping: Int?
        var atEnd = false
        while !atEnd {
            let count = read(descriptor, buffer.baseAddress! + filled, capacity - filled)
            if count < 0 {
                if errno == EINTR { continue }
                throw InputError(path: path, errno: errno)
            }
            atEnd = count == 0
            filled += count
            var lineStart = 0
            while true {
                let pending = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<filled])
                guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else { break }
                let end = lineStart + (newline - pending.startIndex)
                if let skipped = skipping {
                    try body(.tooLong(byteCount: skipped + end - lineStart))
                    skipping = nil
                } else {
                    try emit(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<end]), maxLineBytes: maxLineBytes, body)
                }
                lineStart = end + 1
            }
            let rest = filled - lineStart
            if atEnd {
                if let skipped = skipping {
                    try body(.tooLong(byteCount: skipped + rest))
                } else if rest > 0 {
                    try emit(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<filled]), maxLineBytes: maxLineBytes, body)
                }
            } else if skipping != nil || rest > maxLineBytes + 1 {
                skipping = (skipping ?? 0) + rest
                filled = 0
            } else {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + lineStart, byteCount: rest)
                filled = rest
            }
        }
    }

    private func emit(_ line: UnsafeRawBufferPointer, maxLineBytes: Int, _ body: (Line) throws -> Void) throws {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        try body(line.count > maxLineBytes ? .tooLong(byteCount: line.count) : .text(line))
    }
}

extension InputError {
    /// The whole of a small text file (configuration, secret), read with plain POSIX calls so
    /// a failure reads as one line: `policy.yaml: No such file or directory`, not a Foundation
    /// error dump.
    public static func readFile(_ path: String) throws(InputError) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputError(path: path, errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InputError(path: path, reason: "not valid UTF-8")
        }
        return text
    }

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

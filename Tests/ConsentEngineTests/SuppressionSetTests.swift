import ConsentEngine
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SuppressionSetTests {
    @Test func addRemoveLookup() {
        var set = SuppressionSet()
        #expect(!set.contains("a"))
        let firstInsert = set.insert("a")
        let secondInsert = set.insert("a")
        #expect(firstInsert && !secondInsert)
        set.insert("")
        #expect(set.contains("a") && set.contains(""))
        #expect(!set.contains("A") && !set.contains("a "))
        #expect(set.count == 2)
        let firstRemove = set.remove("a")
        let secondRemove = set.remove("a")
        #expect(firstRemove && !secondRemove)
        #expect(!set.contains("a"))
        #expect(set.count == 1)
        set.insert("a")
        #expect(set.contains("a"))
    }

    @Test func exactMatchingWithManyEntriesAcrossMerges() {
        var set = SuppressionSet()
        // Enough single inserts to fold the overlay into the base several times.
        for i in 0..<20_000 { set.insert("user-\(i)") }
        for i in stride(from: 0, to: 20_000, by: 2) { set.remove("user-\(i)") }
        #expect(set.count == 10_000)
        for i in 0..<20_000 {
            #expect(set.contains("user-\(i)") == (i % 2 == 1))
        }
        for i in 20_000..<21_000 { #expect(!set.contains("user-\(i)")) }
    }

    @Test func builderLoadsAndRemoves() {
        var builder = SuppressionSet.Builder(minimumCapacity: 10)
        for i in 0..<1000 { builder.insert("id-\(i)") }
        builder.insert("id-1")
        builder.remove("id-2")
        builder.remove("never")
        var set = builder.build()
        #expect(set.count == 999)
        #expect(set.contains("id-1") && !set.contains("id-2"))
        set.insert("id-2")
        #expect(set.contains("id-2") && set.count == 1000)
    }

    @Test func snapshotIsUnchangedByLaterUpdates() {
        var builder = SuppressionSet.Builder()
        for i in 0..<5000 { builder.insert("u\(i)") }
        var current = builder.build()
        let snapshot = current
        current.remove("u1")
        current.insert("new")
        for i in 5000..<12_000 { current.insert("u\(i)") }  // forces merges into a new base
        #expect(snapshot.contains("u1") && !snapshot.contains("new") && !snapshot.contains("u6000"))
        #expect(snapshot.count == 5000)
        #expect(!current.contains("u1") && current.contains("new") && current.contains("u6000"))
    }

    @Test func snapshotsAreReadableFromManyThreadsWhileUpdated() async {
        var builder = SuppressionSet.Builder()
        for i in 0..<10_000 { builder.insert("u\(i)") }
        let snapshot = builder.build()
        var writer = snapshot
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    (0..<10_000).allSatisfy { snapshot.contains("u\($0)") }
                }
            }
            for i in 0..<10_000 { writer.remove("u\(i)") }
            for await allFound in group { #expect(allFound) }
        }
        #expect(writer.count == 0 && snapshot.count == 10_000)
    }

    @Test func untypedSubjectsCoverEveryConfiguredIdentifierAndEmailsIgnoreCase() {
        var builder = Suppressions.Builder(identifiers: [.userId, .email])
        builder.insert(subject: "Mixed@Case.io")
        var suppressions = builder.build()
        #expect(suppressions.userIds.contains("Mixed@Case.io"))
        #expect(!suppressions.userIds.contains("mixed@case.io"))
        #expect(suppressions.emails.contains("mixed@case.io"))
        #expect(!suppressions.anonymousIds.contains("Mixed@Case.io"))
        suppressions.remove("MIXED@case.io", as: .email)
        #expect(!suppressions.emails.contains("mixed@case.io"))
        suppressions.insert("anon", as: .anonymousId)
        #expect(suppressions.anonymousIds.contains("anon"))
    }

    /// Memory budget: 10 million userIds within 400 MB of process RSS. Slow in debug builds:
    /// run with `CONSENT_GATE_MEMORY_TEST=1 swift test -c release --filter tenMillionUserIds`.
    @Test(.enabled(if: ProcessEnvironment.memoryTestEnabled))
    func tenMillionUserIdsFitIn400MB() {
        let count = 10_000_000
        var builder = SuppressionSet.Builder(minimumCapacity: count)
        for i in 0..<count { builder.insert("user-\(1_000_000_000 + i)") }
        let set = builder.build()
        let rss = residentMegabytes(field: "VmRSS:")
        let peak = residentMegabytes(field: "VmHWM:")
        print("suppression set: \(set.count) userIds, tables \(set.storageBytes >> 20) MiB, process RSS \(rss) MB, peak \(peak) MB")
        #expect(set.count == count)
        #expect(set.contains("user-1000000000") && set.contains("user-1009999999") && !set.contains("user-1010000000"))
        #expect(rss < 400)
        #expect(peak < 400)
    }

    func residentMegabytes(field: String) -> Int {
        #if canImport(Glibc)
        guard let file = fopen("/proc/self/status", "r") else { return -1 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix(field) {
                let kilobytes = Int(text.dropFirst(field.count).filter(\.isNumber)) ?? -1
                return kilobytes * 1024 / 1_000_000
            }
        }
        #endif
        return -1
    }
}

enum ProcessEnvironment {
    static var memoryTestEnabled: Bool {
        #if canImport(Glibc)
        return getenv("CONSENT_GATE_MEMORY_TEST") != nil
        #else
        return false
        #endif
    }
}

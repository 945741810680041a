import Engine
import Foundation

/// Every file a command will write, known before any work is done, so that a bad output path
/// fails in the first second and no run can overwrite one of its inputs.
struct OutputPlan {
    /// Files written by name (-o, or its -sw<α> and -<layer> variants).
    var files: [String] = []
    /// `--save-every`: suffixed(base, "%04d") for every multiple of `every` below `below`.
    var numbered: [(base: String, every: Int, below: Int)] = []
    /// Files that are not images (checkpoints), checked like the others but for the .png suffix.
    var others: [String] = []

    /// Fails unless every output is a .png in an existing, writable folder, is not a folder
    /// itself, and names none of `inputs`.
    func check(inputs: [String]) throws {
        let sources = inputs.map { (given: $0, path: canonicalPath($0)) }
        for out in files {
            guard out.lowercased().hasSuffix(".png") else {
                throw EngineError.invalidArgument("the output is written as PNG: give -o a name ending in .png (got \(out))")
            }
        }
        for out in files + others {
            let path = canonicalPath(out)
            if let hit = sources.first(where: { $0.path == path }) {
                throw EngineError.invalidArgument("refusing to overwrite the input image \(hit.given); choose another -o")
            }
        }
        for n in numbered {
            for s in sources where Self.isNumbered(s.path, base: canonicalPath(n.base), every: n.every, below: n.below) {
                throw EngineError.invalidArgument(
                    "refusing to overwrite the input image \(s.given): --save-every \(n.every) writes that name; choose another -o")
            }
        }
        var folders: Set<String> = []
        for out in files + numbered.map(\.base) {
            try Self.checkWritable(out, folders: &folders)
        }
    }

    /// Whether `path` is one of the intermediates `base` (out.png) gets: out-0002.png, …
    static func isNumbered(_ path: String, base: String, every: Int, below: Int) -> Bool {
        let b = URL(fileURLWithPath: base), p = URL(fileURLWithPath: path)
        guard every > 0, p.deletingLastPathComponent().path == b.deletingLastPathComponent().path,
              p.pathExtension == b.pathExtension else { return false }
        let stem = b.deletingPathExtension().lastPathComponent + "-"
        let name = p.deletingPathExtension().lastPathComponent
        guard name.hasPrefix(stem) else { return false }
        let digits = String(name.dropFirst(stem.count))
        guard let n = Int(digits), digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return false }
        return n > 0 && n % every == 0 && n < below && String(format: "%04d", n) == digits
    }

    /// The output is not a folder, and its folder exists and takes a new file (tried by creating
    /// and removing an empty one, which also catches read-only mounts and immutable folders).
    static func checkWritable(_ output: String, folders: inout Set<String>) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
            throw EngineError.io("cannot write \(output): it is a folder; give -o a file name ending in .png")
        }
        let url = URL(fileURLWithPath: output)
        let dir = url.deletingLastPathComponent().path
        guard !folders.contains(dir) else { return }
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("cannot write \(output): the folder \(dir) does not exist")
        }
        let probe = dir + "/." + url.lastPathComponent + ".\(getpid()).probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw EngineError.io("cannot write \(output): the folder \(dir) does not take new files (\(reason.lowercased()))")
        }
        close(fd)
        unlink(probe)
        folders.insert(dir)
    }
}

/// The path with symbolic links and `.`/`..` resolved; for a file that does not exist yet, its
/// folder resolved and its name appended.
func canonicalPath(_ path: String) -> String {
    if let r = realpath(path, nil) {
        defer { free(r) }
        return String(cString: r)
    }
    let url = URL(fileURLWithPath: path).standardizedFileURL
    let dir = url.deletingLastPathComponent().path
    if let r = realpath(dir, nil) {
        defer { free(r) }
        return String(cString: r) + "/" + url.lastPathComponent
    }
    return url.path
}

/// out.png → out-<suffix>.png
func suffixed(_ path: String, _ suffix: String) -> String {
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension
    let base = url.deletingPathExtension().path
    return base + "-" + suffix + (ext.isEmpty ? "" : "." + ext)
}

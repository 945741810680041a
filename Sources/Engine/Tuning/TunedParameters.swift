import Foundation

/// The parameters `neural-style tune` found for one OpenCL device, as data: one JSON file per
/// device (keyed by platform, device name and driver version) under the user cache. The backend
/// loads the file of its device. Precedence: NEURAL_STYLE_CL_PARAMETERS beats the tuned file,
/// which beats the shipped defaults of the device's profile.
public struct TunedParameters: Codable, Sendable, Equatable {
    public var platform: String
    public var device: String
    public var driver: String
    /// "name=value,…" in NEURAL_STYLE_CL_PARAMETERS's grammar: only what differs from the defaults.
    public var parameters: String
    /// The workload it was measured on: a full VGG-19 iteration at size × size.
    public var size: Int
    public var defaultSeconds: Double
    public var tunedSeconds: Double
    public var candidates: Int
    public var date: Date

    /// $NEURAL_STYLE_TUNING ("off": no tuned file is read), else $XDG_CACHE_HOME/neural-style/tuning,
    /// else ~/.cache/neural-style/tuning.
    public static let folderVariable = "NEURAL_STYLE_TUNING"

    public static var folder: String? {
        let env = ProcessInfo.processInfo.environment
        if let d = env[folderVariable], !d.isEmpty { return d == "off" ? nil : d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/neural-style/tuning" }
        return NSHomeDirectory() + "/.cache/neural-style/tuning"
    }

    /// The device's file name: its platform, name and driver, with anything but letters, digits,
    /// '.', '-' and '_' as '_'.
    public static func fileName(for d: DeviceInfo) -> String {
        let key = "\(d.platform)__\(d.name)__\(d.driverVersion)"
        let safe = String(key.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
        return "opencl-" + safe + ".json"
    }

    public static func path(for d: DeviceInfo) -> String? { folder.map { $0 + "/" + fileName(for: d) } }

    /// Where `tune` leaves CLBlast's own tuners' results for the device (read when
    /// NEURAL_STYLE_CLBLAST_TUNING is not set).
    public static func clblastFolder(for d: DeviceInfo) -> String? {
        folder.map { $0 + "/" + fileName(for: d).replacingOccurrences(of: ".json", with: "") + "-clblast" }
    }

    /// The device's tuned parameters, nil when none were saved (or tuning files are off). A file
    /// that does not parse, or names another device, is an error: delete it or tune again.
    public static func load(for d: DeviceInfo) throws -> TunedParameters? {
        guard let p = path(for: d), FileManager.default.fileExists(atPath: p) else { return nil }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        guard let data = FileManager.default.contents(atPath: p), let t = try? dec.decode(TunedParameters.self, from: data) else {
            throw EngineError.invalidArgument("the tuning file \(p) is damaged; delete it or run neural-style tune again")
        }
        guard t.device == d.name, t.platform == d.platform, t.driver == d.driverVersion else {
            throw EngineError.invalidArgument("the tuning file \(p) is for \(t.device) (\(t.platform), driver \(t.driver)); delete it or run neural-style tune again")
        }
        var check = OpenCLBackend.Parameters()
        do { try check.apply(t.parameters) } catch {
            throw EngineError.invalidArgument("the tuning file \(p) holds parameters this version does not take (\(error)); run neural-style tune again")
        }
        return t
    }

    /// Writes the file atomically (a temporary file, then a rename).
    public func save(for d: DeviceInfo) throws -> String {
        guard let folder = Self.folder, let p = Self.path(for: d) else {
            throw EngineError.invalidArgument("\(Self.folderVariable)=off: there is nowhere to save the tuning; unset it")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            enc.dateEncodingStrategy = .iso8601
            let tmp = p + ".\(getpid()).tmp"
            try enc.encode(self).write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, p) == 0 else { throw EngineError.io(String(cString: strerror(errno))) }
        } catch {
            throw EngineError.io("cannot write the tuning file \(p): \(error.localizedDescription)")
        }
        return p
    }
}

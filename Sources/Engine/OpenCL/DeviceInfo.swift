import CLKernels

/// One OpenCL device as the runtime reports it. Indices run across all platforms.
public struct DeviceInfo: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case gpu, accelerator, cpu, other }

    public let index: Int
    public let platform: String
    public let platformVendor: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    public let kind: Kind
    public let version: String
    public let driverVersion: String
    public let openCLCVersion: String
    public let computeUnits: Int
    public let clockMHz: Int
    public let globalMemoryBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxAllocationBytes: UInt64
    public let maxWorkGroupSize: Int
    public let fp64: Bool
    public let fp16: Bool
    /// Single precision has a fused multiply-add in hardware (CL_FP_FMA): the register-blocked
    /// kernels then use fma() for their multiply-adds (MULADD), else mad().
    public let fma: Bool

    init(index: Int, raw: ns_device_info) {
        self.index = index
        platform = fixedString(raw.platform_name)
        platformVendor = fixedString(raw.platform_vendor)
        platformVersion = fixedString(raw.platform_version)
        name = fixedString(raw.name)
        vendor = fixedString(raw.vendor)
        version = fixedString(raw.version)
        driverVersion = fixedString(raw.driver_version)
        openCLCVersion = fixedString(raw.opencl_c_version)
        if raw.type & UInt64(NS_DEVICE_GPU) != 0 { kind = .gpu }
        else if raw.type & UInt64(NS_DEVICE_ACCELERATOR) != 0 { kind = .accelerator }
        else if raw.type & UInt64(NS_DEVICE_CPU) != 0 { kind = .cpu }
        else { kind = .other }
        computeUnits = Int(raw.compute_units)
        clockMHz = Int(raw.clock_mhz)
        globalMemoryBytes = raw.global_mem_bytes
        localMemoryBytes = raw.local_mem_bytes
        maxAllocationBytes = raw.max_alloc_bytes
        maxWorkGroupSize = Int(raw.max_work_group_size)
        fp64 = raw.fp64 != 0
        fp16 = raw.fp16 != 0
        fma = raw.fma32 != 0
    }

    /// Every device on every platform. Throws when no OpenCL platform is installed.
    public static func all() throws -> [DeviceInfo] {
        var count: UInt32 = 0
        try clCall { ns_device_count(&count, $0) }
        return try (0..<count).map { i in
            var raw = ns_device_info()
            try clCall { ns_device_info_get(i, &raw, $0) }
            return DeviceInfo(index: Int(i), raw: raw)
        }
    }

    /// Resolves `--device`: nil picks the first GPU, else accelerator, else CPU device;
    /// a number is an index; anything else is a case-insensitive substring of the name.
    public static func select(_ request: String?) throws -> DeviceInfo {
        let devices = try all()
        let listing = devices.map { "  \($0.index): \($0.name) [\($0.kind.rawValue), \($0.platform)]" }
            .joined(separator: "\n")
        guard !devices.isEmpty else {
            throw EngineError.device("no OpenCL device found on any platform")
        }
        guard let request = request, !request.isEmpty else {
            for kind in [Kind.gpu, .accelerator, .cpu, .other] {
                if let d = devices.first(where: { $0.kind == kind }) { return d }
            }
            return devices[0]
        }
        if let n = Int(request) {
            if n >= 0 && n < devices.count { return devices[n] }
            throw EngineError.device("no OpenCL device \(n); devices are:\n\(listing)")
        }
        if let d = devices.first(where: { $0.name.lowercased().contains(request.lowercased()) }) {
            return d
        }
        throw EngineError.device("no OpenCL device matches \"\(request)\"; devices are:\n\(listing)")
    }
}

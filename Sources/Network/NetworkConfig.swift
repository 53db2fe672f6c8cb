import PosternCrypto
import PosternPacket
import PosternSystem

/// The network parameters in a config file (node and client share the keys): `PREFIXepoch_seconds`,
/// `layers`, `max_hops`, `payload_bytes`, `network_key` (empty = open admission), `layer_rule` (1 deal,
/// 2 hashed), `push_work` (bits of proof of work per PUSH, 0 = none; layer rule 2 only).
extension NetworkParameters {
    /// The keys `init(config:prefix:)` reads (without the prefix); node and client configs accept them.
    public static let configKeys = ["epoch_seconds", "layers", "max_hops", "payload_bytes", "network_key", "layer_rule", "push_work"]

    public init(config f: ConfigFile, prefix: String) throws(ConfigError) {
        let epochSeconds = try f.integer(prefix + "epoch_seconds", default: 3600, range: 2...604_800)
        let layers = try f.integer(prefix + "layers", default: 3, range: 1...8)
        let hops = try f.integer(prefix + "max_hops", default: Geometry.standard.maxHops, range: 3...16)
        let payload = try f.integer(prefix + "payload_bytes", default: Geometry.standard.payloadBytes, range: 256...60_000)
        guard layers + 2 <= hops else {
            throw ConfigError(line: f.entries[prefix + "layers"]?.line ?? 0, message: "'\(prefix)layers' + 2 must not exceed '\(prefix)max_hops'")
        }
        var admission = Admission.open
        let keyText = try f.string(prefix + "network_key", default: "")
        if !keyText.isEmpty {
            guard let key = Bytes32(hex: keyText) else {
                throw ConfigError(line: f.entries[prefix + "network_key"]?.line ?? 0, message: "'\(prefix)network_key' must be 64 hex digits or empty")
            }
            admission = .certified(networkKey: key)
        }
        let rule = try f.integer(prefix + "layer_rule", default: 1, range: 1...2)
        let work = try f.integer(prefix + "push_work", default: 0, range: 0...Int(NetworkParameters.maxPushWorkBits))
        guard work == 0 || rule == 2 else {
            throw ConfigError(line: f.entries[prefix + "push_work"]?.line ?? 0,
                              message: "'\(prefix)push_work' is for partial views, which need '\(prefix)layer_rule = 2'")
        }
        self.init(epochSeconds: UInt32(epochSeconds), layers: layers, geometry: Geometry(maxHops: hops, payloadBytes: payload),
                  admission: admission, layerRule: rule == 2 ? .hashed : .deal, pushWorkBits: UInt8(work))
    }

    /// The config lines describing these parameters.
    public var configLines: String {
        var key = ""
        if case .certified(let k) = admission { key = k.hex }
        return "epoch_seconds = \(epochSeconds)\nlayers = \(layers)\nmax_hops = \(geometry.maxHops)\n"
            + "payload_bytes = \(geometry.payloadBytes)\nnetwork_key = \"\(key)\""
            + (layerRule == .deal ? "" : "\nlayer_rule = \(layerRule.rawValue)")
            + (pushWorkBits == 0 ? "" : "\npush_work = \(pushWorkBits)")
    }
}

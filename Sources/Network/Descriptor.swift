import PosternCrypto
import PosternPacket
import PosternSystem

/// Why a descriptor (or its certificate) was refused; each is counted by the node that saw it.
public enum DescriptorRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case oversize, malformed, badSignature, wrongNetwork, publishedInTheFuture, expired, tooLongLived
    case uncertified, badCertificate

    /// The metric label (`postern_descriptors_refused_total{reason}`).
    public var label: String {
        switch self {
        case .oversize: "oversize"
        case .malformed: "malformed"
        case .badSignature: "bad_signature"
        case .wrongNetwork: "wrong_network"
        case .publishedInTheFuture: "future"
        case .expired: "expired"
        case .tooLongLived: "too_long_lived"
        case .uncertified: "uncertified"
        case .badCertificate: "bad_certificate"
        }
    }

    public var description: String {
        switch self {
        case .oversize: "larger than \(NodeDescriptor.maxBytes) bytes"
        case .malformed: "malformed"
        case .badSignature: "the signature does not verify with its identity key"
        case .wrongNetwork: "for another network (other parameters or network key)"
        case .publishedInTheFuture: "published in the future (clock skew beyond \(NodeDescriptor.maxSkewSeconds) s)"
        case .expired: "expired"
        case .tooLongLived: "valid for longer than \(NodeDescriptor.maxLifetimeSeconds / 86_400) days"
        case .uncertified: "no membership certificate (this network is certified)"
        case .badCertificate: "the membership certificate is not valid for this identity and network"
        }
    }

    public static let all: [DescriptorRefusal] = [.oversize, .malformed, .badSignature, .wrongNetwork, .publishedInTheFuture,
                                                  .expired, .tooLongLived, .uncertified, .badCertificate]
}

/// A membership certificate (certified networks): the network key vouches for one node identity until a
/// date. Layout (docs/PROTOCOL.md §5.3), 140 bytes:
///
///     "PMC1" ‖ network key (32) ‖ identity (32) ‖ valid until (u64 BE, unix s) ‖ Ed25519 signature (64)
public struct MembershipCertificate: Equatable, Sendable {
    public static let bytes = 140
    public let networkKey: Bytes32
    public let identity: Bytes32
    public let validUntil: Int64
    public let signature: [UInt8]

    var signed: [UInt8] { Self.body(networkKey, identity, validUntil) }

    static func body(_ networkKey: Bytes32, _ identity: Bytes32, _ validUntil: Int64) -> [UInt8] {
        var w = WireWriter()
        w.raw(Array("PMC1".utf8))
        w.raw(networkKey.bytes)
        w.raw(identity.bytes)
        w.u64(UInt64(bitPattern: validUntil))
        return w.bytes
    }

    public var encoded: [UInt8] { signed + signature }

    /// Signs a certificate for `identity` with the network's key.
    public init(identity: Bytes32, validUntil: Int64, networkKey: borrowing Ed25519.KeyPair) {
        let key = Bytes32(networkKey.publicKey)!
        self.networkKey = key
        self.identity = identity
        self.validUntil = validUntil
        signature = Ed25519.sign(Self.body(key, identity, validUntil), secretKey: networkKey.secretKey)
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.bytes, Array(bytes[0..<4]) == Array("PMC1".utf8) else { return nil }
        var r = WireReader(bytes)
        _ = r.take(4)
        guard let nk = r.take(32), let id = r.take(32), let until = r.u64(), let sig = r.take(64) else { return nil }
        networkKey = Bytes32(nk)!
        identity = Bytes32(id)!
        validUntil = Int64(bitPattern: until)
        signature = sig
    }

    /// Whether this certificate admits `identity` into a network certified by `networkKey` at `now`.
    public func admits(_ identity: Bytes32, networkKey key: Bytes32, now: Int64) -> Bool {
        identity == self.identity && key == networkKey && validUntil >= now
            && Ed25519.verify(signature, signed, publicKey: networkKey.bytes)
    }
}

/// A node's signed self-description, spread by gossip and handed to clients (docs/PROTOCOL.md §5.2).
/// Signed by the node's long-term identity key (Ed25519), which never rotates; its id is derived from
/// that key. Packet keys rotate every epoch: a descriptor lists the ones published ahead.
///
///     "PDS1"                        4   magic, format version 1
///     identity                     32   Ed25519 public key; node id = BLAKE2b-256("postern/node-id/v2" ‖ identity)
///     network id                   32   BLAKE2b-256 of the network parameters (§5.1)
///     link key                     32   X25519 public key, the node's Noise static key
///     roles                         1   bit 0 mix, bit 1 gateway, other bits zero, not zero
///     published                     8   unix seconds; the newest descriptor of an identity wins
///     valid until                   8   unix seconds
///     address                     1+n   "host:port" other nodes connect to (UTF-8, 3…255 bytes)
///     client address              1+n   "host:port" clients connect to, or empty (gateways only)
///     packet keys              1+36×n   n = 1…4 × (epoch u32 ‖ X25519 public key), epochs increasing
///     software                    1+n   UTF-8, at most 64 bytes
///     certificate                 2+n   a membership certificate (140 bytes) or empty
///     signature                    64   Ed25519 by identity over every byte above
///
/// All integers big-endian. At most 1 024 bytes.
public struct NodeDescriptor: Equatable, Sendable {
    public static let maxBytes = 1024
    /// A descriptor published further ahead of the verifier's clock than this is refused.
    public static let maxSkewSeconds: Int64 = 300
    /// Longest validity a descriptor may claim (from its publication).
    public static let maxLifetimeSeconds: Int64 = 7 * 86_400

    public struct Roles: Equatable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let mix = Roles(rawValue: 1), gateway = Roles(rawValue: 2), both = Roles(rawValue: 3)
        public var isMix: Bool { rawValue & 1 != 0 }
        public var isGateway: Bool { rawValue & 2 != 0 }
    }

    public var identity: Bytes32
    public var networkID: Bytes32
    public var linkKey: Bytes32
    public var roles: Roles
    public var published: Int64
    public var validUntil: Int64
    public var address: String
    /// Where clients reach a gateway; nil for other nodes. Stored as "" for none: an `Optional<String>` field
    /// here had its string's tag bits cleared (mask 0x6000000000000001 on the second word) in the Embedded
    /// aarch64 -O build of Swift 6.3.1, trapping at startup; a plain `String` field avoids that layout.
    public var clientAddress: String? {
        get { clientAddressText.isEmpty ? nil : clientAddressText }
        set { clientAddressText = newValue ?? "" }
    }
    var clientAddressText: String
    /// (epoch, packet public key), epochs increasing.
    public var packetKeys: [(epoch: UInt32, key: Bytes32)]
    public var software: String
    public var certificate: MembershipCertificate?
    /// The whole signed record as received or made (what gossip passes on, byte for byte).
    public private(set) var bytes: [UInt8] = []

    public var id: Bytes32 { Self.id(identity: identity) }

    /// A node's id: BLAKE2b-256("postern/node-id/v2" ‖ identity key). It never changes while the identity
    /// key is kept, whatever keys rotate.
    public static func id(identity: Bytes32) -> Bytes32 {
        Bytes32(BLAKE2b.hash(Array("postern/node-id/v2".utf8) + identity.bytes, outputCount: 32))!
    }

    public func packetKey(for epoch: UInt32) -> Bytes32? { packetKeys.first { $0.epoch == epoch }?.key }

    public static func == (a: NodeDescriptor, b: NodeDescriptor) -> Bool { a.bytes == b.bytes }

    /// Builds and signs a descriptor.
    public init(identityKey: borrowing Ed25519.KeyPair, network: NetworkParameters, linkKey: Bytes32, roles: Roles,
                published: Int64, validUntil: Int64, address: String, clientAddress: String?,
                packetKeys: [(epoch: UInt32, key: Bytes32)], software: String, certificate: MembershipCertificate?) {
        identity = Bytes32(identityKey.publicKey)!
        networkID = network.id
        self.linkKey = linkKey
        self.roles = roles
        self.published = published
        self.validUntil = validUntil
        self.address = address
        clientAddressText = clientAddress ?? ""
        self.packetKeys = packetKeys
        self.software = software
        self.certificate = certificate
        let body = signedBody
        bytes = body + Ed25519.sign(body, secretKey: identityKey.secretKey)
    }

    var signedBody: [UInt8] {
        var w = WireWriter(capacity: 512)
        w.raw(Array("PDS1".utf8))
        w.raw(identity.bytes)
        w.raw(networkID.bytes)
        w.raw(linkKey.bytes)
        w.u8(roles.rawValue)
        w.u64(UInt64(bitPattern: published))
        w.u64(UInt64(bitPattern: validUntil))
        w.short(Array(address.utf8))
        w.short(Array(clientAddressText.utf8))
        w.u8(UInt8(packetKeys.count))
        for k in packetKeys {
            w.u32(k.epoch)
            w.raw(k.key.bytes)
        }
        w.short(Array(software.utf8.prefix(64)))
        w.long(certificate?.encoded ?? [])
        return w.bytes
    }

    /// Parses a descriptor and checks its form and its signature (nothing that depends on the clock or
    /// the network: see `verify`).
    public init(bytes: [UInt8]) throws(DescriptorRefusal) {
        guard bytes.count <= Self.maxBytes else { throw .oversize }
        var r = WireReader(bytes)
        guard r.take(4) == Array("PDS1".utf8),
              let identity = r.take(32), let network = r.take(32), let link = r.take(32), let roles = r.u8(),
              let published = r.u64(), let validUntil = r.u64(),
              let address = r.short(), let client = r.short(), let count = r.u8()
        else { throw .malformed }
        guard roles != 0, roles & ~3 == 0, (1...4).contains(count),
              let addressText = String(validating: address, as: UTF8.self), TCP.parse(addressText) != nil
        else { throw .malformed }
        var clientText: String?
        if !client.isEmpty {
            guard let text = String(validating: client, as: UTF8.self), TCP.parse(text) != nil else { throw .malformed }
            clientText = text
        }
        var keys: [(epoch: UInt32, key: Bytes32)] = []
        for _ in 0..<count {
            guard let epoch = r.u32(), let key = r.take(32) else { throw .malformed }
            if let last = keys.last, last.epoch >= epoch { throw .malformed }
            keys.append((epoch, Bytes32(key)!))
        }
        guard let software = r.short(), software.count <= 64, let softwareText = String(validating: software, as: UTF8.self),
              let certificate = r.long() else { throw .malformed }
        let bodyCount = r.offset
        guard let signature = r.take(64), r.remaining == 0 else { throw .malformed }
        var cert: MembershipCertificate?
        if !certificate.isEmpty {
            guard let c = MembershipCertificate(bytes: certificate) else { throw .badCertificate }
            cert = c
        }
        guard Ed25519.verify(signature, Array(bytes[0..<bodyCount]), publicKey: identity) else { throw .badSignature }
        self.identity = Bytes32(identity)!
        networkID = Bytes32(network)!
        linkKey = Bytes32(link)!
        self.roles = Roles(rawValue: roles)
        self.published = Int64(bitPattern: published)
        self.validUntil = Int64(bitPattern: validUntil)
        self.address = addressText
        clientAddressText = clientText ?? ""
        packetKeys = keys
        self.software = softwareText
        self.certificate = cert
        self.bytes = bytes
    }

    /// Checks what depends on the verifier: the network, the clock, and (certified networks) the
    /// membership certificate.
    public func verify(network: NetworkParameters, now: Int64) throws(DescriptorRefusal) {
        guard networkID == network.id else { throw .wrongNetwork }
        guard published <= now + Self.maxSkewSeconds else { throw .publishedInTheFuture }
        guard validUntil >= now else { throw .expired }
        // (Subtracting from validUntil, which is at least now, cannot overflow; validUntil - published
        // could: a signed descriptor published at -2^63 used to trap every node that verified it.)
        guard published >= validUntil - Self.maxLifetimeSeconds else { throw .tooLongLived }
        if case .certified(let key) = network.admission {
            guard let certificate else { throw .uncertified }
            guard certificate.admits(identity, networkKey: key, now: now) else { throw .badCertificate }
        }
    }

    /// Descriptors kept as one record (a node's state store, a client's profile): (length u16 BE ‖
    /// descriptor)*. Decoding stops at the first truncated entry.
    public static func encodeList(_ list: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for d in list where d.count <= 65_535 { out += [UInt8(d.count >> 8), UInt8(d.count & 0xff)] + d }
        return out
    }

    public static func decodeList(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var out: [[UInt8]] = [], i = bytes.startIndex
        while i + 2 <= bytes.endIndex {
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard i + 2 + n <= bytes.endIndex else { break }
            out.append(Array(bytes[(i + 2)..<(i + 2 + n)]))
            i += 2 + n
        }
        return out
    }

    /// Parses and verifies in one step.
    public static func accept(_ bytes: [UInt8], network: NetworkParameters, now: Int64) throws(DescriptorRefusal) -> NodeDescriptor {
        let d = try NodeDescriptor(bytes: bytes)
        try d.verify(network: network, now: now)
        return d
    }
}

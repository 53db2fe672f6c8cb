import PosternCrypto
import PosternSystem

/// How a packet names the node it goes to next (packet format 3, docs/PROTOCOL.md §2.2 and §2.7): by the
/// link key that node's links authenticate with, and where it listens when the sender knows an IP
/// literal for it. A mix holding no descriptor for the node can still reach it: it dials the address
/// and the Noise handshake proves the key.
public struct NextHop: Hashable, Sendable {
    public var linkKey: Bytes32
    /// nil: the sender gives no address (address type 0); the mix must hold a descriptor naming `linkKey`.
    public var address: IPAddress?
    /// 0 when there is no address.
    public var port: UInt16

    public init(linkKey: Bytes32, address: IPAddress? = nil, port: UInt16 = 0) {
        self.linkKey = linkKey
        self.address = address
        self.port = address == nil ? 0 : port
    }

    /// From a descriptor's "host:port": an IP literal is carried; a host name is not (a sender resolving
    /// it would tell its resolver which mixes it uses), so it gives address type 0.
    public init(linkKey: Bytes32, endpoint: String) {
        if let (host, port) = TCP.parse(endpoint), let ip = IPAddress(host) {
            self.init(linkKey: linkKey, address: ip, port: port)
        } else {
            self.init(linkKey: linkKey)
        }
    }

    /// "host:port" to dial, if there is an address.
    public var endpoint: String? { address.map { $0.endpoint(port: port) } }

    /// Bytes a SURB names its first hop with: link key (32) ‖ address type (1) ‖ port (u16 BE) ‖ address (16).
    public static let surbBytes = 51

    /// The address type byte: 4, 6, or 0 for none.
    var addressType: UInt8 { address?.family ?? 0 }

    /// Reads the address type, port (u16 BE) and address at `type`, `port` and `ip`; nil when the type is
    /// not 0, 4 or 6, when type 0 comes with a non-zero port or address, or when an IPv4 address's bytes
    /// 4…15 are not zero. A packet's creator chooses these bytes: a relay reads them as hostile input.
    static func read(linkKey: Bytes32, type: UInt8, port p: UnsafeRawPointer, ip: UnsafeRawPointer) -> NextHop? {
        let port = UInt16(p.load(as: UInt8.self)) << 8 | UInt16(p.load(fromByteOffset: 1, as: UInt8.self))
        if type == 0 {
            guard port == 0, ip.loadUnaligned(as: UInt64.self) == 0, ip.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == 0
            else { return nil }
            return NextHop(linkKey: linkKey)
        }
        guard let address = IPAddress(family: type, bytes: ip) else { return nil }
        return NextHop(linkKey: linkKey, address: address, port: port)
    }

    /// Writes the type, port (u16 BE) and address (zeros for none).
    func write(type t: UnsafeMutableRawPointer, port p: UnsafeMutableRawPointer, ip: UnsafeMutableRawPointer) {
        t.storeBytes(of: addressType, as: UInt8.self)
        p.storeBytes(of: UInt8(port >> 8), as: UInt8.self)
        p.storeBytes(of: UInt8(port & 0xff), toByteOffset: 1, as: UInt8.self)
        if let address { address.store(to: ip) } else { ip.initializeMemory(as: UInt8.self, repeating: 0, count: 16) }
    }

    /// The first hop of a serialised SURB at `p` (`surbBytes`); nil if its address bytes are malformed.
    public init?(surb p: UnsafeRawPointer) {
        guard let hop = Self.read(linkKey: Bytes32(p), type: p.load(fromByteOffset: 32, as: UInt8.self), port: p + 33, ip: p + 35)
        else { return nil }
        self = hop
    }

    /// Writes the SURB form (`surbBytes`) to `p`.
    func writeSURB(to p: UnsafeMutableRawPointer) {
        linkKey.store(to: p)
        write(type: p + 32, port: p + 33, ip: p + 35)
    }
}

import PosternCrypto

/// A message key kept for a message that was skipped (lost or not yet arrived), with the address it will
/// arrive at and the header key its header is encrypted under.
struct SkippedKey {
    var address: Bytes32
    var headerKey: Bytes32
    var index: UInt32
    var messageKey: Bytes32
}

/// Everything one side of a conversation knows: the double ratchet with header encryption (Signal's
/// specification, §4) plus Postern's address chains. A class so that `receive` can work on a copy and
/// swap it in only on success; `deinit` wipes every secret of the copy that is discarded.
final class RatchetState {
    var dhSecret = Bytes32.zero, dhPublic = Bytes32.zero, remoteDH = Bytes32.zero
    var rootKey = Bytes32.zero
    var sendChain = Bytes32.zero, recvChain = Bytes32.zero
    var hasSend = false, hasRecv = false
    var sendHeader = Bytes32.zero, nextSendHeader = Bytes32.zero
    var recvHeader = Bytes32.zero, nextRecvHeader = Bytes32.zero
    /// Address chain keys positioned at the next message index of each chain (Ns, Nr; 0 for "next").
    var sendAddress = Bytes32.zero, nextSendAddress = Bytes32.zero
    var recvAddress = Bytes32.zero, nextRecvAddress = Bytes32.zero
    var ns: UInt32 = 0, nr: UInt32 = 0, pn: UInt32 = 0
    /// The largest counter a stored state may hold (`Conversation(serialized:)`). The send counter stops
    /// here rather than pass it (a later message repeats the index, and the receiver, already past it,
    /// cannot open it: delivery fails, no key is reused), so a state is loadable after any send. Every
    /// reply starts a new chain from 0; two billion messages without one never happen.
    static let maxCounter: UInt32 = (1 << 31) - 1
    var skipped: [SkippedKey] = []

    init() {}

    deinit { wipe() }

    /// Zeroes every secret and forgets the skipped keys. Keys in a skipped-key buffer that another state
    /// still shares stay with that state (wiping them here would copy the buffer first).
    func wipe() {
        if !skipped.isEmpty {
            for i in skipped.indices { skipped[i].headerKey.wipe(); skipped[i].messageKey.wipe() }
            skipped = []
        }
        dhSecret.wipe(); rootKey.wipe(); sendChain.wipe(); recvChain.wipe()
        sendHeader.wipe(); nextSendHeader.wipe(); recvHeader.wipe(); nextRecvHeader.wipe()
        sendAddress.wipe(); nextSendAddress.wipe(); recvAddress.wipe(); nextRecvAddress.wipe()
    }

    /// Copies every field into `c` (the skipped keys' buffer is shared until one side changes it).
    func copy(into c: RatchetState) {
        c.dhSecret = dhSecret; c.dhPublic = dhPublic; c.remoteDH = remoteDH; c.rootKey = rootKey
        c.sendChain = sendChain; c.recvChain = recvChain; c.hasSend = hasSend; c.hasRecv = hasRecv
        c.sendHeader = sendHeader; c.nextSendHeader = nextSendHeader
        c.recvHeader = recvHeader; c.nextRecvHeader = nextRecvHeader
        c.sendAddress = sendAddress; c.nextSendAddress = nextSendAddress
        c.recvAddress = recvAddress; c.nextRecvAddress = nextRecvAddress
        c.ns = ns; c.nr = nr; c.pn = pn; c.skipped = skipped
    }

    /// A new DH ratchet step on seeing the counterparty's new ratchet key (Signal's DHRatchetHE, with
    /// the address keys moving exactly like the header keys).
    func dhRatchet(remote: Bytes32, fresh: Bytes32) throws(RatchetError) {
        pn = ns; ns = 0; nr = 0
        sendHeader = nextSendHeader; recvHeader = nextRecvHeader
        sendAddress = nextSendAddress; recvAddress = nextRecvAddress
        remoteDH = remote
        let received = KDF.root(rootKey, try KDF.dh(dhSecret, remoteDH))
        rootKey = received.rk; recvChain = received.ck; nextRecvHeader = received.nhk; nextRecvAddress = received.nak
        hasRecv = true
        dhSecret = fresh
        dhPublic = KDF.publicKey(fresh)
        let sent = KDF.root(rootKey, try KDF.dh(dhSecret, remoteDH))
        rootKey = sent.rk; sendChain = sent.ck; nextSendHeader = sent.nhk; nextSendAddress = sent.nak
        hasSend = true
    }

    /// Advances the receiving chain to index `n`, keeping the skipped keys (bounded by `maxSkip`).
    func skip(until n: UInt32, maxSkip: Int) throws(RatchetError) {
        guard hasRecv else { return }
        guard n >= nr, Int(n - nr) <= maxSkip else { throw .tooManySkipped }
        while nr < n {
            let (ck, mk) = KDF.chain(recvChain)
            let (ak, address) = KDF.address(recvAddress)
            skipped.append(SkippedKey(address: address, headerKey: recvHeader, index: nr, messageKey: mk))
            recvChain = ck; recvAddress = ak; nr += 1
        }
        if skipped.count > maxSkip { skipped.removeFirst(skipped.count - maxSkip) }
    }

    /// The next `count` addresses of a chain from address key `key` (position 0 = the key's own index).
    static func window(from key: Bytes32, count: Int) -> [Bytes32] {
        var k = key
        var out: [Bytes32] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let (next, address) = KDF.address(k)
            out.append(address)
            k = next
        }
        return out
    }

    /// Position of `address` within the first `count` addresses from `key`, if any.
    static func position(of address: Bytes32, from key: Bytes32, count: Int) -> Int? {
        var k = key
        for i in 0..<count {
            let (next, candidate) = KDF.address(k)
            if candidate == address { return i }
            k = next
        }
        return nil
    }
}

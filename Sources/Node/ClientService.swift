import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

extension Node {
    func handleClientRequest(_ c: Connection, _ frame: UnsafeRawBufferPointer) {
        guard frame.count >= 5, let op = ClientOp(code: frame[0]) else {
            c.close("malformed client request")
            return
        }
        let requestID = Array(frame[1..<5])
        let body = UnsafeRawBufferPointer(rebasing: frame[5...])
        func respond(_ status: ClientStatus, _ payload: [UInt8] = []) {
            _ = c.send([0x80 | op.code] + requestID + [status.code] + payload)
        }
        switch op {
        case .submit:
            guard body.count == topology.geometry.packetBytes else { respond(.badRequest); return }
            if let error = handlePacket(body) {
                respond(.refused, Array(error.description.utf8))
            } else {
                respond(.ok)
            }
        case .fetch:
            guard let mailbox, body.count >= 1, body.count == 1 + 32 * Int(body[0]), body[0] <= 32 else {
                respond(.badRequest)
                return
            }
            var entries: [UInt8] = []
            var count = 0
            let budget = 60_000
            for i in 0..<Int(body[0]) {
                let address = Bytes32(body.baseAddress! + 1 + 32 * i)
                guard let messages = try? mailbox.fetch(address: address, limit: 64) else { respond(.storeError); return }
                for m in messages where entries.count + 11 + m.blob.count <= budget {
                    entries.append(UInt8(i))
                    withUnsafeBytes(of: m.id.bigEndian) { entries += $0 }
                    entries += [UInt8(m.blob.count >> 8), UInt8(m.blob.count & 0xff)]
                    entries += m.blob
                    count += 1
                }
            }
            respond(.ok, [UInt8(count >> 8), UInt8(count & 0xff)] + entries)
        case .delete:
            guard let mailbox, body.count == 40 else { respond(.badRequest); return }
            let address = Bytes32(body.baseAddress!)
            let id = body[32..<40].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            do {
                let found = try mailbox.delete(address: address, id: id)
                if firstPendingDeposit == nil { firstPendingDeposit = EventLoop.now() }
                respond(found ? .ok : .refused)
            } catch {
                respond(.storeError)
            }
        }
    }
}

import CSystem
import PosternCover
import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem

/// `postern node keygen|info|run` and `postern topology keygen|sign`.
enum NodeCommand {
    static let usage = """
    usage: postern node keygen --dir DIR [--epoch N] [--force]
           postern node info --config FILE
           postern node run --config FILE [--listen HOST:PORT] [--client-listen HOST:PORT] [--data-dir DIR]
                                           [--topology FILE] [--metrics HOST:PORT]
           postern topology keygen --out FILE
           postern topology sign --key FILE --in DRAFT [--out FILE]
    """

    static func fail(_ message: String) -> Int32 { CLI.fail(message) }

    static func options(_ args: [String], _ allowed: [String], flags: [String] = []) -> [String: String]? {
        CLI.options(args, allowed, flags: flags, usage: usage)
    }

    static func node(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "node", usage: usage, [("keygen", keygen), ("info", info), ("run", run)])
    }

    static func keygen(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--dir", "--epoch"], flags: ["--force"]), let dir = o["--dir"] else {
            Terminal.error(usage); return 2
        }
        let epoch = UInt32(o["--epoch"] ?? "") ?? UInt32(truncatingIfNeeded: Clock.wallSeconds() / 86_400)
        let path = dir + "/node.keys"
        if Files.exists(path) && o["--force"] == nil { return fail("\(path) exists; pass --force to replace it") }
        do { try Files.makeDirectory(dir) } catch { return fail("\(dir): \(error.description)") }
        let keys = NodeKeys.generate(epoch: epoch)
        do { try Files.writeAtomically(path, Array(keys.fileText.utf8), mode: 0o600) } catch { return fail("\(path): \(error.description)") }
        Terminal.line("wrote \(path) (mode 0600)")
        Terminal.line("id \(keys.id.hex)")
        Terminal.line("link-key \(keys.linkPublic.hex)")
        Terminal.line("packet-key \(keys.packetPublic.hex)")
        Terminal.line("epoch \(epoch)")
        Terminal.line("topology line (fill in role, layer and addresses):")
        Terminal.line("node \(keys.id.hex) mix 1 HOST:PORT - \(keys.linkPublic.hex) \(keys.packetPublic.hex)")
        return 0
    }

    static func loadConfig(_ path: String) -> NodeConfig? {
        guard let bytes = try? Files.read(path) else { _ = fail("cannot read config \(path)"); return nil }
        do { return try NodeConfig(text: String(decoding: bytes, as: UTF8.self)) } catch {
            _ = fail("\(path): \(error.description)")
            return nil
        }
    }

    static func loadKeys(_ path: String) -> NodeKeys? {
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch { _ = fail("keys \(path): \(error.description) (run 'postern node keygen')"); return nil }
        guard let keys = NodeKeys.parse(String(decoding: bytes, as: UTF8.self)) else { _ = fail("keys \(path): malformed"); return nil }
        return keys
    }

    static func info(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--config"]), let path = o["--config"] else { Terminal.error(usage); return 2 }
        guard let config = loadConfig(path), let keys = loadKeys(config.keysFile) else { return 1 }
        Terminal.line("id \(keys.id.hex)")
        Terminal.line("link-key \(keys.linkPublic.hex)")
        Terminal.line("packet-key \(keys.packetPublic.hex)")
        Terminal.line("epoch \(keys.epoch)")
        Terminal.line("listen \(config.listen)")
        if !config.clientListen.isEmpty { Terminal.line("client-listen \(config.clientListen)") }
        return 0
    }

    static func run(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--config", "--listen", "--client-listen", "--data-dir", "--topology", "--metrics"]),
              let path = o["--config"] else { Terminal.error(usage); return 2 }
        guard var config = loadConfig(path) else { return 1 }
        if let v = o["--listen"] { config.listen = v }
        if let v = o["--client-listen"] { config.clientListen = v }
        if let v = o["--data-dir"] { config.dataDirectory = v }
        if let v = o["--topology"] { config.topologyFile = v }
        if let v = o["--metrics"] { config.metricsListen = v }
        Log.threshold = Log.parse(config.logLevel) ?? .info
        guard let keys = loadKeys(config.keysFile) else { return 1 }
        guard let directoryKey = Hex.decode(config.directoryKey), directoryKey.count == 32 else {
            return fail("node.directory_key is not set: the node refuses unsigned topologies")
        }
        let text: [UInt8]
        do { text = try Files.read(config.topologyFile) } catch { return fail("topology \(config.topologyFile): \(error.description)") }
        let topology: Topology
        do {
            topology = try Topology(signedText: String(decoding: text, as: UTF8.self), directoryKey: directoryKey, now: Clock.wallSeconds())
        } catch {
            return fail("topology \(config.topologyFile): \(error.description)")
        }
        guard let me = topology.nodes.first(where: { $0.linkKey == keys.linkPublic }) else {
            return fail("this node (id \(keys.id.hex.prefix(16))…) is not in the topology")
        }
        guard keys.epoch == topology.epoch else { return fail("keys are for epoch \(keys.epoch), the topology for \(topology.epoch)") }
        var store: MailboxStore?
        if me.role == .gateway {
            do { store = try MailboxStore(directory: config.dataDirectory + "/mailbox", config: config.mailboxConfig) } catch {
                return fail(error.description)
            }
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return fail(error.description) }
        var options = NodeOptions(listen: config.listen, clientListen: me.role == .gateway && !config.clientListen.isEmpty ? config.clientListen : nil)
        options.maxQueuedPackets = config.maxQueuedPackets
        options.maxPendingPerLink = config.maxPendingPerLink
        options.replayCapacity = config.replayCapacity
        options.groupCommitNanos = UInt64(config.groupCommitMillis) * 1_000_000
        if config.relayLoopsPerHour > 0 {
            var cover = CoverConfig()
            cover.payloadRate = 0; cover.loopRate = 0; cover.dropRate = 0
            cover.relayLoopRate = Double(config.relayLoopsPerHour) / 3600
            cover.bytesPerDay = Int64(config.coverBytesPerDayMB) << 20
            cover.epochSeconds = Int64(config.coverEpochSeconds)
            cover.packetBytes = topology.geometry.packetBytes
            options.cover = cover
        }
        let node: Node
        do {
            node = try Node(keys: keys, topology: topology, loop: loop, options: options, mailbox: store)
            node.log = { Log.info($0) }
            try node.start()
        } catch {
            return fail(error.description)
        }
        var metrics: MetricsEndpoint?
        if !config.metricsListen.isEmpty {
            do { metrics = try MetricsEndpoint(loop: loop, listen: config.metricsListen) { node.metricsText() } } catch {
                return fail(error.description)
            }
            Log.info("metrics on \(config.metricsListen)")
        }
        _ = psys_install_stop_signals()
        loop.handlesSignals = true
        loop.onStopSignal = { signal in
            Log.info("signal \(signal): shutting down")
            loop.stop()
        }
        Systemd.notify("READY=1\nSTATUS=relaying")
        if let interval = Systemd.watchdogNanoseconds {
            func ping() {
                Systemd.notify("WATCHDOG=1")
                loop.after(interval / 2) { ping() }
            }
            ping()
        }
        Log.info("postern \(PosternCommand.version) running as \(me.role == .gateway ? "gateway" : "mix"), epoch \(topology.epoch)")
        loop.run()
        Systemd.notify("STOPPING=1")
        metrics?.close()
        node.stop()
        return 0
    }

    static func topology(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "topology", usage: usage, [("keygen", topologyKeygen), ("sign", topologySign)])
    }

    static func topologyKeygen(_ rest: [String]) -> Int32 {
        guard let o = options(rest, ["--out"]), let out = o["--out"] else { Terminal.error(usage); return 2 }
        if Files.exists(out) { return fail("\(out) exists") }
        let seed = Random.bytes(32)
        do { try Files.writeAtomically(out, Array((Hex.encode(seed) + "\n").utf8), mode: 0o600) } catch { return fail("\(out): \(error.description)") }
        Terminal.line("wrote \(out) (mode 0600); directory key (node.directory_key):")
        Terminal.line(Hex.encode(Ed25519.KeyPair(seed: seed).publicKey))
        return 0
    }

    static func topologySign(_ rest: [String]) -> Int32 {
        guard let o = options(rest, ["--key", "--in", "--out"]), let keyPath = o["--key"], let input = o["--in"] else {
            Terminal.error(usage); return 2
        }
        guard let seedText = try? Files.read(keyPath), let seed = Hex.decode(String(decoding: seedText, as: UTF8.self).trimmedLine),
              seed.count == 32 else { return fail("\(keyPath): not a directory key file") }
        guard let draftBytes = try? Files.read(input) else { return fail("cannot read \(input)") }
        let directory = Ed25519.KeyPair(seed: seed)
        let draft: Topology
        do { draft = try Topology(draftText: String(decoding: draftBytes, as: UTF8.self)) } catch {
            return fail("\(input): \(error.description)")
        }
        let signed = draft.signed(with: directory)
        if let out = o["--out"] {
            do { try Files.writeAtomically(out, Array(signed.utf8), mode: 0o644) } catch { return fail("\(out): \(error.description)") }
            Terminal.line("wrote \(out)")
        } else {
            Terminal.out(signed)
        }
        return 0
    }
}

extension String {
    var trimmedLine: String { String(filter { $0 != "\n" && $0 != "\r" && $0 != " " }) }
}

import CSystem
import PosternCover
import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternNode
import PosternPacket
import PosternStore
import PosternSystem

/// `postern node keygen|info|run` and `postern network keygen|certify`.
enum NodeCommand {
    static let usage = """
    usage: postern node keygen --dir DIR [--force]
           postern node info --config FILE
           postern node check --config FILE
           postern node run --config FILE [--listen HOST:PORT] [--client-listen HOST:PORT] [--data-dir DIR]
                                           [--bootstrap HOST:PORT#KEY] [--metrics HOST:PORT]
           postern network keygen --out FILE
           postern network certify --key FILE --identity HEX [--days N] --out FILE
    keygen writes DIR/node.keys (mode 0600; --force replaces them); info prints the node's id and keys;
    check names every problem in a config before a start; run serves until SIGTERM (options override the
    config). certify signs a membership certificate (--days, default 365) for a certified network.
    example: postern node run --config /etc/postern/postern.toml
    """

    static func fail(_ message: String) -> Int32 { CLI.fail(message) }

    static func options(_ args: [String], _ allowed: [String], flags: [String] = []) -> [String: String]? {
        CLI.options(args, allowed, flags: flags, usage: usage)
    }

    static func node(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "node", usage: usage, [("keygen", keygen), ("info", info), ("check", check), ("run", run)])
    }

    static func keygen(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--dir"], flags: ["--force"]), let dir = o["--dir"] else {
            Terminal.error(usage); return 2
        }
        let path = dir + "/node.keys"
        if Files.exists(path) && o["--force"] == nil { return fail("\(path) exists; pass --force to replace it (the node gets a new identity)") }
        do { try Files.makeDirectory(dir) } catch { return fail("\(dir): \(error.description)") }
        let secrets = NodeSecrets.generate()
        do { try Files.writeAtomically(path, Array(secrets.fileText.utf8), mode: 0o600) } catch { return fail("\(path): \(error.description)") }
        Terminal.line("wrote \(path) (mode 0600): the node's identity and link key; back it up")
        Terminal.line("id \(secrets.id.hex)")
        Terminal.line("identity \(secrets.identity.hex)")
        Terminal.line("link-key \(secrets.linkPublic.hex)")
        Terminal.line("packet keys are made per epoch when the node runs (\(dir)/packet.keys)")
        return 0
    }

    static func loadConfig(_ path: String) -> NodeConfig? {
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch { _ = fail("cannot read config \(path): \(error.description)"); return nil }
        do { return try NodeConfig(text: String(decoding: bytes, as: UTF8.self)) } catch {
            _ = fail("\(path): \(error.description)")
            return nil
        }
    }

    /// The node's secrets; a version-1 key file (from the one-epoch topology) is upgraded in place: it
    /// keeps its link key and gains an identity.
    static func loadSecrets(_ path: String) -> NodeSecrets? {
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch { _ = fail("keys \(path): \(error.description) (run 'postern node keygen')"); return nil }
        guard let (secrets, upgraded) = NodeSecrets.parse(String(decoding: bytes, as: UTF8.self)) else {
            _ = fail("keys \(path): malformed")
            return nil
        }
        if upgraded {
            do { try Files.writeAtomically(path, Array(secrets.fileText.utf8), mode: 0o600) } catch {
                _ = fail("keys \(path): cannot upgrade to version 2: \(error.description)")
                return nil
            }
            Log.warning("\(path) upgraded: the node keeps its link key and has a new identity (id \(secrets.id.hex.prefix(16))…)")
        }
        return secrets
    }

    static func info(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--config"]), let path = o["--config"] else { Terminal.error(usage); return 2 }
        guard let config = loadConfig(path), let secrets = loadSecrets(config.keysFile) else { return 1 }
        Terminal.line("id \(secrets.id.hex)")
        Terminal.line("identity \(secrets.identity.hex)")
        Terminal.line("link-key \(secrets.linkPublic.hex)")
        Terminal.line("role \(config.role)")
        Terminal.line("listen \(config.listen)")
        let reach = config.advertise.isEmpty ? config.listen : config.advertise
        Terminal.line("bootstrap line for other nodes (network.bootstrap): \(reach)#\(secrets.linkPublic.hex)")
        if !config.clientListen.isEmpty {
            let client = config.advertiseClient.isEmpty ? config.clientListen : config.advertiseClient
            Terminal.line("gateway line for clients (client.toml network.gateway): \(client)#\(secrets.linkPublic.hex)")
        }
        return 0
    }

    /// Checks everything `node run` would need, without running: config, keys, data directory, listen
    /// addresses, advertised addresses, certificate, the clock, and that every bootstrap peer answers a
    /// Noise handshake. One line per finding; exit 0 when nothing is wrong, 1 otherwise.
    static func check(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--config"]), let path = o["--config"] else { Terminal.error(usage); return 2 }
        var problems = 0
        func ok(_ what: String) { Terminal.line("ok       \(what)") }
        func problem(_ what: String) { Terminal.line("PROBLEM  \(what)"); problems += 1 }
        guard let config = loadConfig(path) else { return 1 }
        ok("config \(path): \(config.role), epochs of \(config.network.epochSeconds) s, \(config.network.layers) layers")
        guard let bytes = try? Files.read(config.keysFile) else {
            problem("keys \(config.keysFile): cannot read (run 'postern node keygen --dir …')")
            return 1
        }
        guard let (secrets, upgraded) = NodeSecrets.parse(String(decoding: bytes, as: UTF8.self)) else {
            problem("keys \(config.keysFile): malformed")
            return 1
        }
        if upgraded { problem("keys \(config.keysFile): version 1 (one-epoch topology); 'node run' upgrades it, with a new identity") }
        else { ok("keys \(config.keysFile): id \(secrets.id.hex.prefix(16))…") }
        if Files.isDirectory(config.dataDirectory), (try? Files.writeAtomically(config.dataDirectory + "/.check", [1])) != nil {
            try? Files.remove(config.dataDirectory + "/.check")
            ok("data directory \(config.dataDirectory) is writable")
        } else {
            problem("data directory \(config.dataDirectory) is missing or not writable")
        }
        let isGateway = config.roles.isGateway
        for (name, address, advertised) in [("listen", config.listen, config.advertise)]
            + (isGateway ? [("client_listen", config.clientListen, config.advertiseClient)] : []) {
            guard let (host, port) = TCP.parse(address) else { problem("node.\(name) \(address) is not host:port"); continue }
            do {
                let fd = try TCP.listen(host, port)
                fd.close()
                ok("node.\(name) \(address) can be bound")
            } catch {
                if error.errno == 98 { ok("node.\(name) \(address) is in use (is the node running?)") }
                else { problem("node.\(name) \(address): \(error.description)") }
            }
            if advertised.isEmpty && (host == "0.0.0.0" || host == "::") {
                problem("node.\(name) is a wildcard address: set node.advertise\(name == "listen" ? "" : "_client") to where others reach this node")
            }
        }
        let now = Clock.wallSeconds()
        if now < 1_735_689_600 { problem("the clock says \(Format.utc(now)) UTC: wait for time sync (epochs follow the clock)") }
        else { ok("clock \(Format.utc(now)) UTC, epoch \(config.network.epoch(at: now))") }
        if case .certified(let networkKey) = config.network.admission {
            if let text = try? Files.read(config.certificateFile, limit: 4096),
               let raw = Hex.decode(String(decoding: text, as: UTF8.self).trimmedLine), let c = MembershipCertificate(bytes: raw) {
                if !c.admits(secrets.identity, networkKey: networkKey, now: now) {
                    problem("certificate \(config.certificateFile) is not valid for this identity and network key (or expired)")
                } else if c.validUntil - now < 14 * 86_400 {
                    problem("certificate \(config.certificateFile) expires on \(Format.utc(c.validUntil)) UTC: ask for a new one")
                } else {
                    ok("certificate valid until \(Format.utc(c.validUntil)) UTC")
                }
            } else {
                problem("this network is certified and \(config.certificateFile.isEmpty ? "network.certificate is not set" : config.certificateFile + " is not a certificate")")
            }
        }
        let peers = config.bootstrapPeers
        if peers.isEmpty { ok("no bootstrap peers (the first node of a network, or one that kept its view)") }
        if !peers.isEmpty, let loop = try? EventLoop() {
            for peer in peers {
                guard let (host, port) = TCP.parse(peer.address), let fd = try? TCP.connect(host, port),
                      let hs = try? NoiseHandshake(pattern: .XK, initiator: true, prologue: Prologue.link,
                                                   staticKey: secrets.linkSecret.bytes, remoteStatic: peer.linkKey.bytes) else {
                    problem("bootstrap \(peer.address): cannot connect")
                    continue
                }
                let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: config.network.geometry.packetBytes + 16,
                                   connecting: true, handshakeTimeout: 5_000_000_000)
                var result: String?
                c.onEstablished = { c in result = ""; c.close("check done") }
                c.onClose = { _, reason in if result == nil { result = reason } }
                c.start()
                let end = EventLoop.now() &+ 6_000_000_000
                while result == nil && EventLoop.now() < end { loop.run(until: min(end, EventLoop.now() &+ 50_000_000)) }
                if result == "" { ok("bootstrap \(peer.address) answers with the expected link key") }
                else { problem("bootstrap \(peer.address): \(result ?? "no answer in 6 s") (wrong link key, or not a Postern node?)") }
            }
        }
        Terminal.line(problems == 0 ? "node check: nothing wrong" : "node check: \(problems) problem\(problems == 1 ? "" : "s")")
        return problems == 0 ? 0 : 1
    }

    static func run(_ args: [String]) -> Int32 {
        guard let o = options(args, ["--config", "--listen", "--client-listen", "--data-dir", "--bootstrap", "--metrics"]),
              let path = o["--config"] else { Terminal.error(usage); return 2 }
        // Configuration problems exit 78 (EX_CONFIG): the unit does not restart on them (board/postern.service).
        func misconfigured(_ message: String) -> Int32 { _ = fail(message); return 78 }
        guard var config = loadConfig(path) else { return 78 }
        if let v = o["--listen"] { config.listen = v }
        if let v = o["--client-listen"] { config.clientListen = v }
        if let v = o["--data-dir"] { config.dataDirectory = v }
        if let v = o["--bootstrap"] {
            guard Peer(v) != nil else { return misconfigured("--bootstrap must be host:port#<link key, 64 hex>") }
            config.bootstrap = v
        }
        if let v = o["--metrics"] { config.metricsListen = v }
        Log.threshold = Log.parse(config.logLevel) ?? .info
        guard let secrets = loadSecrets(config.keysFile) else { return 78 }
        var certificate: MembershipCertificate?
        if case .certified(let networkKey) = config.network.admission {
            guard !config.certificateFile.isEmpty else { return misconfigured("this network is certified: set network.certificate ('postern network certify')") }
            guard let bytes = try? Files.read(config.certificateFile, limit: 4096),
                  let raw = Hex.decode(String(decoding: bytes, as: UTF8.self).trimmedLine), let c = MembershipCertificate(bytes: raw) else {
                return misconfigured("\(config.certificateFile): not a membership certificate")
            }
            guard c.admits(secrets.identity, networkKey: networkKey, now: Clock.wallSeconds()) else {
                return misconfigured("\(config.certificateFile): not valid for this node's identity and network (or expired on \(Format.utc(c.validUntil) + " UTC"))")
            }
            certificate = c
        }
        let isGateway = config.roles.isGateway
        var store: MailboxStore?
        if isGateway {
            do { store = try MailboxStore(directory: config.dataDirectory + "/mailbox", config: config.mailboxConfig) } catch {
                return fail(error.description)
            }
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return fail(error.description) }
        var options = NodeOptions(listen: config.listen, clientListen: isGateway ? config.clientListen : nil)
        options.roles = config.roles
        options.advertise = config.advertise.isEmpty ? nil : config.advertise
        options.advertiseClient = config.advertiseClient.isEmpty ? nil : config.advertiseClient
        options.bootstrap = config.bootstrapPeers
        options.certificate = certificate
        options.packetKeysPath = config.dataDirectory + "/packet.keys"
        options.maxQueuedPackets = config.maxQueuedPackets
        options.maxClients = config.maxClients
        options.clientIdleNanos = UInt64(config.clientIdleSeconds) * 1_000_000_000
        options.maxClientOutputBytes = config.maxClientOutputMB << 20
        options.maxPendingPerLink = config.maxPendingPerLink
        options.maxUndescribedLinks = config.maxUndescribedLinks
        options.viewSize = config.viewSize
        options.sampleSize = config.sampleSize
        options.replayCapacity = config.replayCapacity
        options.groupCommitNanos = UInt64(config.groupCommitMillis) * 1_000_000
        if config.relayLoopsPerHour > 0 {
            var cover = CoverConfig()
            cover.payloadRate = 0; cover.loopRate = 0; cover.dropRate = 0
            cover.relayLoopRate = Double(config.relayLoopsPerHour) / 3600
            cover.bytesPerDay = Int64(config.coverBytesPerDayMB) << 20
            cover.epochSeconds = Int64(config.coverEpochSeconds)
            cover.packetBytes = config.network.geometry.packetBytes
            options.cover = cover
        }
        let state: RecordStore
        do { state = try RecordStore(directory: config.dataDirectory + "/state", mapSize: 64 << 20) } catch {
            return fail("node state: \(error.description)")
        }
        let node: Node
        do {
            node = try Node(secrets: secrets, network: config.network, loop: loop, options: options, mailbox: store, state: state)
            node.log = { line in if line.hasPrefix("warning: ") { Log.warning(String(line.dropFirst(9))) } else { Log.info(line) } }
            try node.start()
        } catch {
            if case .config = error { return misconfigured(error.description) }
            return fail(error.description)
        }
        var metrics: MetricsEndpoint?
        if !config.metricsListen.isEmpty {
            do { metrics = try MetricsEndpoint(loop: loop, listen: config.metricsListen) { node.metricsText() } } catch {
                return fail(error.description)
            }
            if let (host, _) = TCP.parse(config.metricsListen), let m = metrics { Log.info("metrics on \(host):\(m.port)") }
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
        Log.info("postern \(PosternCommand.version) running as \(config.role), epoch \(config.network.epoch(at: Clock.wallSeconds())) "
                 + "of \(config.network.epochSeconds) s, \(node.view.count) nodes known"
                 + (config.bootstrapPeers.isEmpty ? "" : ", bootstrap \(config.bootstrapPeers.map { $0.address }.joined(separator: ", "))"))
        loop.run()
        Systemd.notify("STOPPING=1")
        metrics?.close()
        node.stop()
        return 0
    }

    static func network(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "network", usage: usage, [("keygen", networkKeygen), ("certify", certify)])
    }

    /// A network key for a certified network: its seed in FILE (mode 0600), its public half printed (the
    /// `network.network_key` of every node and client).
    static func networkKeygen(_ rest: [String]) -> Int32 {
        guard let o = options(rest, ["--out"]), let out = o["--out"] else { Terminal.error(usage); return 2 }
        if Files.exists(out) { return fail("\(out) exists") }
        let seed = Random.bytes(32)
        do { try Files.writeAtomically(out, Array((Hex.encode(seed) + "\n").utf8), mode: 0o600) } catch { return fail("\(out): \(error.description)") }
        Terminal.line("wrote \(out) (mode 0600); network key (network.network_key):")
        Terminal.line(Hex.encode(Ed25519.KeyPair(seed: seed).publicKey))
        return 0
    }

    /// A membership certificate for one node identity (from `postern node info`), valid for N days.
    static func certify(_ rest: [String]) -> Int32 {
        guard let o = options(rest, ["--key", "--identity", "--days", "--out"]), let keyPath = o["--key"],
              let identityText = o["--identity"], let out = o["--out"] else { Terminal.error(usage); return 2 }
        guard let identity = Bytes32(hex: identityText) else { return CLI.usageError("--identity must be the node's identity key (64 hex, 'postern node info')") }
        guard let days = Int(o["--days"] ?? "365"), (1...3650).contains(days) else { return CLI.usageError("--days must be 1…3650") }
        guard let seedText = try? Files.read(keyPath, limit: 4096), let seed = Hex.decode(String(decoding: seedText, as: UTF8.self).trimmedLine),
              seed.count == 32 else { return fail("\(keyPath): not a network key file ('postern network keygen')") }
        let until = Clock.wallSeconds() + Int64(days) * 86_400
        let certificate = MembershipCertificate(identity: identity, validUntil: until, networkKey: Ed25519.KeyPair(seed: seed))
        do { try Files.writeAtomically(out, Array((Hex.encode(certificate.encoded) + "\n").utf8), mode: 0o644) } catch {
            return fail("\(out): \(error.description)")
        }
        Terminal.line("wrote \(out): membership of \(identity.hex.prefix(16))… until \(Format.utc(until) + " UTC") (the node's network.certificate)")
        return 0
    }
}

extension String {
    var trimmedLine: String { String(filter { $0 != "\n" && $0 != "\r" && $0 != " " }) }
}

import CSystem
import PosternClient
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternSystem

/// Where a client command finds its profile, network config and passphrase, and the plumbing every
/// client command shares (opening the profile, connecting a session, running the loop).
///
/// Profile: `--profile DIR`, else $POSTERN_PROFILE, else $XDG_DATA_HOME/postern/profile (default
/// ~/.local/share/postern/profile). Config: `--config FILE`, else $POSTERN_CONFIG, else
/// $XDG_CONFIG_HOME/postern/client.toml. Passphrase: `--passphrase-file FILE`, else
/// $POSTERN_PASSPHRASE_FILE, else $POSTERN_PASSPHRASE, else a prompt on the terminal without echo.
struct ClientContext {
    nonisolated(unsafe) static var globals: [String: String] = [:]
    static let optionNames = ["--profile", "--config", "--passphrase-file"]

    let profileDirectory: String
    let configPath: String
    let passphraseFile: String?
    /// The global options this command was given (`--profile DIR` …), to repeat in a suggested next command.
    let givenOptions: String

    init(_ o: [String: String]) {
        func pick(_ flag: String) -> String? { o[flag] ?? Self.globals[flag] }
        givenOptions = Self.optionNames.compactMap { f in pick(f).map { f + " " + CLI.quoted($0) } }.map { $0 + " " }.joined()
        let home = Process.environment("HOME") ?? "."
        profileDirectory = pick("--profile") ?? Process.environment("POSTERN_PROFILE")
            ?? ((Process.environment("XDG_DATA_HOME") ?? home + "/.local/share") + "/postern/profile")
        configPath = pick("--config") ?? Process.environment("POSTERN_CONFIG")
            ?? ((Process.environment("XDG_CONFIG_HOME") ?? home + "/.config") + "/postern/client.toml")
        passphraseFile = pick("--passphrase-file") ?? Process.environment("POSTERN_PASSPHRASE_FILE")
    }

    /// A passphrase file's contents without its line end.
    static func readPassphraseFile(_ file: String) -> Result<[UInt8], ClientSetupError> {
        var secret: [UInt8]
        do { secret = try Files.read(file, limit: 4096) } catch { return .failure(ClientSetupError("passphrase file \(file): \(error.description)")) }
        while let last = secret.last, last == 10 || last == 13 { secret.removeLast() }
        return .success(secret)
    }

    /// `subject` names what the passphrase is for in the prompt (default: this profile).
    func passphrase(confirm: Bool, subject: String? = nil) -> Result<[UInt8], ClientSetupError> {
        var secret: [UInt8]
        if let file = passphraseFile {
            switch Self.readPassphraseFile(file) {
            case .success(let s): secret = s
            case .failure(let e): return .failure(e)
            }
        } else if let env = Process.environment("POSTERN_PASSPHRASE") {
            secret = Array(env.utf8)
        } else {
            let prompt = confirm ? "New \(subject ?? "profile") passphrase: " : "Passphrase for \(subject ?? profileDirectory): "
            switch Terminal.readSecret(prompt: prompt) {
            case .success(let s): secret = s
            case .failure(let e):
                return .failure(ClientSetupError("no passphrase: no terminal to ask on (\(e.description)); set POSTERN_PASSPHRASE or use --passphrase-file"))
            }
            if confirm {
                guard case .success(let again) = Terminal.readSecret(prompt: "Repeat the passphrase: "), again == secret else {
                    return .failure(ClientSetupError("the passphrases differ; nothing was created"))
                }
            }
        }
        guard !secret.isEmpty else { return .failure(ClientSetupError("the passphrase is empty")) }
        if confirm, let why = Self.weakness(secret) { Terminal.error("warning: " + why) }
        return .success(secret)
    }

    /// Why a new passphrase is weak, or nil: fewer than 12 characters and fewer than four words. Anyone
    /// who copies the profile's files can guess offline, Argon2id only slows each guess down.
    static func weakness(_ secret: [UInt8]) -> String? {
        let characters = String(decoding: secret, as: UTF8.self).count
        let words = secret.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x2d }).count
        guard characters < 12 && words < 4 else { return nil }
        return "a passphrase of \(characters) character\(characters == 1 ? "" : "s") is weak: whoever copies the profile's files "
            + "can try guesses offline (Argon2id only slows each one down); 12 characters or four words make that impractical"
    }

    /// Opens the profile (deriving its key takes a moment: Argon2id); nil after printing why not.
    func openProfile() -> Profile? { openProfileKeepingPassphrase()?.profile }

    /// The profile and the passphrase that opened it (for commands that use it again: export).
    func openProfileKeepingPassphrase() -> (profile: Profile, passphrase: [UInt8])? {
        guard Files.exists(profileDirectory + "/profile.salt") else {
            _ = CLI.fail("no profile at \(profileDirectory) (create one with 'postern profile new', or pass --profile DIR)")
            return nil
        }
        let secret: [UInt8]
        switch passphrase(confirm: false) {
        case .success(let s): secret = s
        case .failure(let e): _ = CLI.fail(e.description); return nil
        }
        Terminal.progress("unlocking the profile…")
        defer { Terminal.clearProgress() }
        do { return (try Profile.open(directory: profileDirectory, passphrase: secret, waitSeconds: 10), secret) } catch {
            _ = CLI.fail(error.description)
            return nil
        }
    }

    func config() -> ClientConfig? {
        let bytes: [UInt8]
        do { bytes = try Files.read(configPath) } catch {
            _ = CLI.fail("cannot read the client config \(configPath): \(error.description) (pass --config FILE; 'postern testnet' writes one)")
            return nil
        }
        do { return try ClientConfig(text: String(decoding: bytes, as: UTF8.self), path: configPath) } catch {
            _ = CLI.fail("\(configPath): \(error.description)")
            return nil
        }
    }

    /// The network as this client knows it: the descriptors kept in the profile (if any), refreshed from
    /// the gateway once per epoch (and whenever no route can be built). `via`: the connection to use
    /// (the profile's gateway); default: a connection to the gateway of client.toml, closed afterwards.
    /// Nil after printing why (no view and no gateway to ask).
    func network(_ config: ClientConfig, profile: Profile?, loop: EventLoop, via shared: GatewayClient? = nil) -> ClientNetwork? {
        let kept: (epoch: UInt32?, descriptors: [[UInt8]]) = (profile.flatMap { try? $0.keptNetwork() }) ?? (nil, [])
        let net = ClientNetwork(parameters: config.parameters, bootstrap: config.gateway, descriptors: kept.descriptors,
                                refreshedEpoch: kept.epoch)
        // Contacts' gateways: a gateway keeping a partial view looks for them when asked (§5.8).
        net.wanted = (try? profile?.contactGateways()) ?? []
        guard net.isStale || !net.isRoutable || net.lacksWanted else { return net }
        guard let refused = net.refreshNow(loop: loop, seconds: 15, via: shared) else {
            // The kept view still routes: use it (whatever needs the gateway says so itself).
            if net.isRoutable { return net }
            let asked = shared?.gateway.clientAddress ?? config.gateway.address
            _ = CLI.fail("cannot learn the network from the gateway at \(asked) (unreachable?)")
            return nil
        }
        if refused > 0 { Terminal.error("postern: \(refused) descriptors from the gateway did not verify and were ignored") }
        if let profile { try? profile.save(network: net) }
        return net
    }

    /// The profile connected to its gateway (the connection opens with the first request); the view is
    /// refreshed through it first when stale.
    func session(_ profile: Profile) -> (Session, EventLoop, ClientConfig)? {
        guard let config = config() else { return nil }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { _ = CLI.fail("event loop: \(error.description)"); return nil }
        // The profile's own gateway if the kept view knows it, else the one in client.toml.
        let kept = ClientNetwork(parameters: config.parameters, bootstrap: config.gateway,
                                 descriptors: ((try? profile.keptNetwork()) ?? (nil, [])).descriptors)
        let own = (try? profile.settings()).flatMap { kept.gateway($0.gateway) } ?? kept.bootstrapGateway
        let link = GatewayClient(loop: loop, gateway: own)
        // A connection the session does not take over is closed here, its bytes recorded in the usage.
        func close(_ link: GatewayClient) {
            link.close()
            try? profile.record(usage: link.takeUsage(), day: Clock.wallSeconds() / 86_400)
        }
        guard let network = network(config, profile: profile, loop: loop, via: link) else { close(link); return nil }
        do {
            let gatewayID = try profile.settings().gateway
            // A session needs the connection to the profile's gateway: reuse `link` if that is where it goes.
            let shared = network.gateway(gatewayID).map { $0.linkKey == own.linkKey } == true ? link : nil
            if shared == nil { close(link) }
            let s = try Session(profile: profile, network: network, loop: loop, meanDelayMicros: Double(config.meanDelayMillis) * 1000,
                                client: shared, owning: true)
            s.resendAfterSeconds = Int64(config.resendAfterSeconds)
            return (s, loop, config)
        } catch {
            close(link)
            _ = CLI.fail(error.description)
            return nil
        }
    }

    /// Runs `loop` until `condition` holds, `seconds` pass or SIGINT/SIGTERM arrives; true if it held.
    static func run(_ loop: EventLoop, seconds: Double, until condition: () -> Bool) -> Bool {
        _ = psys_install_stop_signals()
        let end = EventLoop.now() &+ UInt64(seconds * 1e9)
        // SIGINT/SIGTERM end epoll_wait early (EINTR), so the flag is seen at once.
        loop.run(until: end) { psys_stop_signal() != 0 || condition() }
        return condition()
    }

    static var interrupted: Bool { psys_stop_signal() != 0 }

    /// While `inbox --watch` runs cover traffic it holds this file (its process id): other commands then
    /// leave sending to it, so real messages leave only in payload slots.
    var coverMarker: String { profileDirectory + "/cover.pid" }

    var coverWatchRunning: Bool {
        guard let bytes = try? Files.read(coverMarker, limit: 64),
              let pid = Int32(String(decoding: bytes, as: UTF8.self).filter { $0.isNumber }) else { return false }
        return pid != Process.id && Process.isAlive(pid)
    }
}

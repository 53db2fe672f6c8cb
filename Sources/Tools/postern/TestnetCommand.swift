import CSystem
import PosternClient
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternSystem

/// `postern testnet --dir D`: the demo's loopback mixnet as a long-running process, for trying the
/// client commands. The network (keys, ports, mailboxes) lives in D and comes back the same on the
/// next start, so profiles made against it stay valid; D/client.toml points profiles at it.
enum TestnetCommand {
    static let usage = """
    usage: postern testnet --dir DIR [--layers N] [--gateways N] [--delay-ms D] [--epoch-seconds S] [--verbose]
    A mixnet on 127.0.0.1 until Ctrl-C: N layers of mixes (default 3), N gateways (2), mean delay D ms per
    hop (20), epochs of S seconds (3600); its keys stay in DIR, and DIR/client.toml points profiles at it.
    example: postern testnet --dir /tmp/net
    """

    static func run(_ args: [String]) -> Int32 {
        guard let o = CLI.options(args, ["--dir", "--layers", "--gateways", "--delay-ms", "--epoch-seconds"], flags: ["--verbose"], usage: usage),
              let dir = o["--dir"] else { Terminal.error(usage); return 2 }
        guard let layers = Int(o["--layers"] ?? "3"), (1...4).contains(layers),
              let gateways = Int(o["--gateways"] ?? "2"), (1...8).contains(gateways),
              let delay = Int(o["--delay-ms"] ?? "20"), (0...10_000).contains(delay),
              let epochSeconds = UInt32(o["--epoch-seconds"] ?? "3600"), (2...86_400).contains(epochSeconds) else {
            return CLI.usageError("--layers 1…4, --gateways 1…8, --delay-ms 0…10000, --epoch-seconds 2…86400")
        }
        let directory = dir.hasPrefix("/") ? dir : (Process.environment("PWD") ?? ".") + "/" + dir
        do { try Files.makeDirectories(directory) } catch { return CLI.fail("\(directory): \(error.description)") }
        let net: LocalNetwork
        let restored: Bool
        do {
            if let saved = try LocalNetwork.restore(dataDirectory: directory) {
                net = saved
                restored = true
            } else {
                net = try LocalNetwork(layers: layers, gateways: gateways, dataDirectory: directory, epochSeconds: epochSeconds)
                restored = false
                do { try net.save() } catch { return CLI.fail("\(directory)/network.keys: \(error.description)") }
            }
        } catch { return CLI.fail(error.description) }
        if o["--verbose"] != nil { net.log = { Log.info($0) } }
        do { try net.start() } catch {
            return CLI.fail("\(error.description)" + (restored ? " (a port of the saved network is taken; stop what uses it, or use a new --dir)" : ""))
        }
        // Profiles reach the network through gateway 1 (its client address and link key) and learn the
        // rest from it: no map file.
        var config = ClientConfig(gateway: net.gatewayPeer(0), parameters: net.parameters)
        config.meanDelayMillis = delay
        config.pollSeconds = 1
        config.resendAfterSeconds = 30
        do { try Files.writeAtomically(directory + "/client.toml", Array(config.text.utf8), mode: 0o644) } catch {
            return CLI.fail("\(directory): \(error.description)")
        }
        Terminal.line("Postern testnet \(restored ? "restarted from" : "created in") \(directory): \(net.parameters.layers) mix layers, "
                      + "\(net.gateways.count) gateways, epochs of \(net.parameters.epochSeconds) s")
        for i in 0..<net.nodes.count {
            let node = net.info(i)
            Terminal.line("  \(Format.pad(net.nodeName(i), 9, left: true)) \(node.address)" + (node.clientAddress.map { "  clients \($0)" } ?? ""))
        }
        Terminal.line("Point profiles at it with: postern --config \(directory)/client.toml --profile DIR profile new")
        Terminal.line("Running until interrupted (Ctrl-C).")
        Terminal.flush()
        _ = psys_install_stop_signals()
        net.loop.handlesSignals = true
        net.loop.onStopSignal = { _ in net.loop.stop() }
        net.loop.run()
        net.stop()
        Terminal.line("testnet stopped; its mailboxes stay in \(directory)")
        return 0
    }
}

import PosternCover
import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

/// A Prometheus text-format endpoint (off by default; bind it to localhost). Each connection gets one
/// response and is closed: `GET /metrics` or anything else returns the same text.
public final class MetricsEndpoint {
    let loop: EventLoop
    let listener: FileDescriptor
    public let port: UInt16
    let render: () -> String

    public init(loop: EventLoop, listen: String, render: @escaping () -> String) throws(NodeError) {
        guard let (host, p) = TCP.parse(listen) else { throw .badAddress(listen) }
        do { listener = try TCP.listen(host, p) } catch { throw .listen(listen, error) }
        self.loop = loop
        self.render = render
        port = TCP.localPort(listener)
        try? loop.watch(listener, events: EventLoop.readable) { [self] _ in self.accept() }
    }

    func accept() {
        while let fd = try? TCP.accept(listener) {
            let body = render()
            let response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            let bytes = Array(response.utf8)
            // Small responses fit the socket buffer; a client that cannot take them is not waited for.
            _ = bytes.withUnsafeBytes { try? TCP.write(fd, $0.baseAddress!, $0.count) }
            TCP.close(fd)
        }
    }

    public func close() {
        loop.unwatch(listener)
        TCP.close(listener)
    }
}

extension Node {
    /// The node's counters in Prometheus text format.
    public func metricsText() -> String {
        let p = processor.stats, s = stats
        var t = ""
        func metric(_ name: String, _ help: String, _ type: String, _ lines: [(String, Int)]) {
            t += "# HELP postern_\(name) \(help)\n# TYPE postern_\(name) \(type)\n"
            for (labels, value) in lines { t += "postern_\(name)\(labels) \(value)\n" }
        }
        metric("packets_in_total", "Packets received from links and clients.", "counter", [("", s.packetsIn)])
        metric("packets_out_total", "Packets forwarded to the next hop.", "counter", [("", s.packetsOut)])
        metric("packets_delivered_total", "Final-hop packets stored in the mailbox.", "counter",
               [("{kind=\"message\"}", s.delivered), ("{kind=\"reply\"}", s.repliesDelivered)])
        metric("packets_dropped_total", "Packets dropped, by reason.", "counter", [
            ("{reason=\"wrong_size\"}", p.wrongSize), ("{reason=\"unknown_epoch\"}", p.unknownEpoch),
            ("{reason=\"bad_mac\"}", p.badMAC), ("{reason=\"replayed\"}", p.replayed),
            ("{reason=\"weak_key\"}", p.weakKey),
            ("{reason=\"bad_command\"}", p.badCommand), ("{reason=\"tagged_payload\"}", p.taggedPayload),
            ("{reason=\"queue_full\"}", s.droppedQueueFull), ("{reason=\"link_queue_full\"}", s.droppedLinkQueue),
            ("{reason=\"unknown_hop\"}", s.droppedUnknownHop), ("{reason=\"not_gateway\"}", s.droppedNotGateway),
            ("{reason=\"store\"}", s.droppedStore), ("{reason=\"store_lost\"}", s.depositsLost), ("{reason=\"bad_frame\"}", s.droppedBadFrame),
            ("{reason=\"delay_too_long\"}", s.droppedDelay),
        ])
        metric("delivery_acks_total", "Delivery acknowledgements answered through senders' SURBs.", "counter",
               [("{result=\"sent\"}", s.acksSent), ("{result=\"dropped\"}", s.acksDropped)])
        metric("cover_dropped_total", "Drop-stream cover packets discarded at this final hop.", "counter", [("", s.coverDropped)])
        metric("relay_loops_total", "This node's own loop packets.", "counter",
               [("{result=\"sent\"}", s.loopsSent), ("{result=\"returned\"}", s.loopsReturned), ("{result=\"lost\"}", s.loopsLost)])
        metric("relay_loop_hops_total", "Mixes chosen for relay loops: from the sample (every mix held, with a full view), or widened to every mix held for a layer without a healthy one there (PROTOCOL.md §5.9).", "counter",
               [("{from=\"sample\"}", s.loopHops - s.loopHopsWidened), ("{from=\"widened\"}", s.loopHopsWidened)])
        metric("queue_depth", "Packets held for their mixing delay.", "gauge", [("", queue.count)])
        metric("links_up", "Established outgoing links.", "gauge", [("", linksUp)])
        metric("undescribed_links_total", "Links opened to nodes the view does not describe, at the address a packet named; those whose dial or handshake failed.", "counter",
               [("{result=\"opened\"}", s.undescribedLinks), ("{result=\"failed\"}", s.undescribedLinkFailures)])
        metric("undescribed_links", "Links to nodes the view does not describe (at most max_undescribed_links).", "gauge", [("", undescribedLinksOpen)])
        metric("link_rejects_total", "Inbound links refused (unknown peer).", "counter", [("", s.linkRejects)])
        metric("clients_connected", "Connected clients.", "gauge", [("", clientService.clients.count)])
        metric("clients_closed_total", "Client sessions refused at the cap, or closed for idleness.", "counter",
               [("{reason=\"cap\"}", s.clientsRefused), ("{reason=\"idle\"}", s.clientsIdleClosed),
                ("{reason=\"output\"}", s.clientsOutputClosed)])
        metric("client_polls_total", "POLLs held open until something arrived or the hold ended; refused over the watch limit.", "counter",
               [("{result=\"held\"}", s.pollsHeld), ("{result=\"refused\"}", s.pollsRefused)])
        metric("client_poll_lookups_total", "Watched addresses POLL answers looked up (only where something may wait).", "counter", [("", s.pollLookups)])
        metric("client_watched_addresses", "Addresses watched by connected clients' sessions.", "gauge", [("", clientService.watches.total)])
        metric("client_output_bytes", "Replies queued for clients, not yet read by them.", "gauge", [("", s.clientOutputBytes)])
        metric("accept_pauses_total", "Listeners paused for 100 ms for lack of file descriptors.", "counter", [("", s.acceptPauses)])
        // The view (docs/OPERATING.md, "A living network").
        let now = Clock.wallSeconds(), map = directory.topology
        metric("view_descriptors", "Verified descriptors held (newest per node).", "gauge", [("", directory.view.count)])
        metric("view_mixes", "Mixes per layer in this epoch's map.", "gauge",
               (1...max(1, parameters.layers)).map { ("{layer=\"\($0)\"}", map.mixes(layer: $0).count) })
        metric("view_gateways", "Gateways in this epoch's map.", "gauge", [("", map.gateways.count)])
        let ages = directory.view.descriptors.values.map { Int(now.subtractingReportingOverflow($0.published).partialValue) }
        metric("view_descriptor_age_seconds", "Age of the oldest and newest descriptor held.", "gauge",
               [("{which=\"oldest\"}", ages.max() ?? 0), ("{which=\"newest\"}", ages.min() ?? 0)])
        metric("descriptors_taken_total", "Descriptors taken (new, or newer than the one held).", "counter", [("", s.descriptorsTaken)])
        metric("descriptors_refused_total", "Descriptors refused, by reason.", "counter",
               DescriptorRefusal.all.enumerated().map { ("{reason=\"\($1.label)\"}", s.descriptorsRefused[$0]) })
        metric("gossip_rounds_total", "Gossip rounds this node started.", "counter", [("", s.gossipRounds)])
        metric("sampling_rounds_total", "Partial-view rounds ended, by outcome (PROTOCOL.md §5.9).", "counter",
               zip(["renewed", "flooded", "cut_off", "joining"], s.samplingRounds).map { ("{outcome=\"\($0)\"}", $1) })
        if let sampling = directory.sampling {
            metric("sampling_members", "Partial views: distinct ids in the view and in the sample (PROTOCOL.md §5.9).", "gauge",
                   [("{part=\"view\"}", sampling.brahms.view.count), ("{part=\"sample\"}", Set(sampling.brahms.sample.values).count)])
            metric("sampling_described_total", "Partial views: DESCRIBE answers awaited at the last epoch boundary, by outcome.", "counter",
                   [("{outcome=\"silent\"}", s.describeSilent)])
            if directory.parameters.pushWorkBits > 0 {
                metric("pushes_refused_total", "Partial views: PUSH frames refused for their proof of work, by reason (PROTOCOL.md §5.9).", "counter",
                       PushRefusal.allCases.map { ("{reason=\"\($0.label)\"}", s.pushesRefused[$0.rawValue]) })
                metric("pushes_sent_total", "Partial views: this node's pushes, by outcome: proof found and sent, or still unsolved when the next round began.", "counter",
                       [("{outcome=\"sent\"}", s.pushesSolved), ("{outcome=\"unsolved\"}", s.pushesUnsolved)])
            }
        }
        metric("gossip_refused_total", "Control frames refused (malformed, flooding, view full).", "counter", [("", s.gossipRefused)])
        metric("clock_skewed_peers_total", "Gossip digests whose sender's clock differed by more than 300 s.", "counter", [("", s.clockSkewedPeers)])
        metric("packet_keys_total", "Packet keys made and deleted (one per epoch).", "counter",
               [("{event=\"added\"}", s.keysAdded), ("{event=\"deleted\"}", s.keysDeleted)])
        metric("packet_key_epochs", "Epochs whose packet key is held.", "gauge", [("", processor.keyring.keys.count)])
        metric("replay_tags_saved_total", "Replay tags written to the state store.", "counter", [("", replay.written)])
        let filters = processor.keyring.keys.map { $0.replay }
        metric("replay_filter_bytes", "Memory of the replay filters allocated (one per epoch key that received a packet).", "gauge",
               [("", filters.reduce(0) { $0 + ($1.isAllocated ? $1.bytes : 0) })])
        metric("replay_over_capacity", "Packets of an epoch beyond mixing.replay_capacity (false positives then rise).", "gauge",
               [("", filters.reduce(0) { $0 + $1.overCapacity })])
        if let mailbox {
            metric("mailbox_messages", "Messages in the mailbox store.", "gauge", [("", Int(mailbox.messageCount))])
            metric("mailbox_bytes", "Message bytes in the mailbox store.", "gauge", [("", Int(mailbox.totalBytes))])
            metric("mailbox_byte_cap", "The mailbox's byte cap (mailbox.byte_cap_mb): the oldest messages are evicted past it.", "gauge",
                   [("", Int(mailbox.config.byteCap))])
        }
        let epoch = parameters.epoch(at: now)
        metric("epoch", "The current epoch.", "gauge", [("", Int(epoch))])
        metric("epoch_seconds_left", "Seconds until the next epoch (and its packet key).", "gauge",
               [("", Int(parameters.start(of: epoch &+ 1) - now))])
        if let relayLoops {
            metric("cover_bytes_today", "Bytes the relay loops sent today (UTC), against cover.bytes_per_day_mb.", "gauge",
                   [("", Int(relayLoops.scheduler.bytesToday))])
            metric("cover_bytes_per_day", "The relay loops' daily budget (cover.bytes_per_day_mb).", "gauge",
                   [("", Int(relayLoops.scheduler.config.bytesPerDay))])
        }
        return t
    }
}

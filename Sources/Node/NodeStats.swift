import PosternNetwork
import PosternSystem
/// Counters a node exports (Prometheus text on the metrics endpoint, and to tests).
public struct NodeStats: Equatable {
    public var packetsIn = 0, packetsOut = 0, delivered = 0, repliesDelivered = 0
    public var droppedQueueFull = 0, droppedLinkQueue = 0, droppedUnknownHop = 0, droppedNotGateway = 0
    public var droppedStore = 0, droppedBadFrame = 0, droppedDelay = 0
    /// Deposits the store took into a batch that then could not be committed (a full map or disk): never
    /// counted as delivered, never acknowledged as stored.
    public var depositsLost = 0
    public var linksUp = 0, clientsConnected = 0, linkRejects = 0
    /// Links opened to a node the view does not describe, at the address a packet named (format 3); dials
    /// of such links that failed before their handshake completed (a wrong address or key).
    public var undescribedLinks = 0, undescribedLinkFailures = 0
    public var queueDepth = 0
    /// Cover traffic: drop-stream packets discarded at this final hop; own relay loops.
    /// Delivery acknowledgements sent through senders' SURBs; ones that could not be sent.
    public var acksSent = 0, acksDropped = 0
    public var coverDropped = 0, loopsSent = 0, loopsReturned = 0, loopsLost = 0
    /// Relay loops' mixes chosen, and those chosen outside the sample (partial views: a layer had no healthy
    /// mix of the sample).
    public var loopHops = 0, loopHopsWidened = 0
    /// The view: descriptors taken (new or newer), refused by reason (`DescriptorRefusal.all` order),
    /// gossip rounds started, malformed or flooding control frames, peers whose clock is off by more
    /// than `NodeDescriptor.maxSkewSeconds`; packet-key rotations (epochs added) and deletions.
    public var descriptorsTaken = 0, descriptorsRefused = [Int](repeating: 0, count: DescriptorRefusal.all.count)
    public var gossipRounds = 0, gossipRefused = 0, clockSkewedPeers = 0
    /// Partial views: rounds ended renewed, flooded, cut off, joining (`BrahmsView.Outcome`).
    public var samplingRounds = [0, 0, 0, 0]
    /// Partial views: descriptors held when the last round let go of those outside view and sample
    /// (at most view + sample + this node's own).
    public var descriptorsAfterRound = 0
    /// Partial views: members asked for their descriptor that had not answered at an epoch boundary.
    public var describeSilent = 0
    /// Push work: pushes refused by reason (`PushRefusal` order: work, slot, reused); this node's pushes
    /// whose proof was found and sent, and those still unsolved when the next round began.
    public var pushesRefused = [0, 0, 0], pushesSolved = 0, pushesUnsolved = 0
    public var keysAdded = 0, keysDeleted = 0
    /// Accept loops paused for lack of file descriptors; clients refused at the cap; idle clients closed.
    public var acceptPauses = 0, clientsRefused = 0, clientsIdleClosed = 0
    /// Clients closed because the replies waiting for all clients passed `maxClientOutputBytes` and
    /// theirs were the most; the replies waiting now.
    public var clientsOutputClosed = 0, clientOutputBytes = 0
    /// POLLs held open (nothing waited); POLLs refused for watching too many addresses; addresses a
    /// POLL answer looked up in the mailbox (only those where something may wait).
    public var pollsHeld = 0, pollsRefused = 0, pollLookups = 0
    public init() {}

    mutating func refused(_ reason: DescriptorRefusal) {
        if let i = DescriptorRefusal.all.firstIndex(of: reason) { descriptorsRefused[i] += 1 }
    }
}

/// The counters every stage of one node adds to (one object, shared by reference).
final class NodeCounters {
    var stats = NodeStats()
}

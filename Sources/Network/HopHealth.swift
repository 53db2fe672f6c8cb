import PosternCrypto

/// What one's own loops say about the mixes they went through (docs/PROTOCOL.md §4.6): a mix on the
/// path of `suspectAfter` lost loops in a row, with none through it come back since, is taken to be down
/// (it crashed, or drops what it gets), and routes avoid it for `retrySeconds`. Then one loop may go
/// through it again: back, and it is trusted again; lost, and it is avoided for another `retrySeconds`.
/// A stopped node leaves every map within two epoch boundaries (§5.5); this covers the time until then,
/// when its descriptor still looks valid and every message through it would be lost.
///
/// A loss is blamed on every mix of the loop's path, since nobody can tell which hop dropped it. A mix
/// that drops everything is soon avoided; an honest mix sharing its paths is blamed too, but only while
/// three of its loops in a row all met the dropper, and once the dropper is avoided that stops.
public struct HopHealth {
    /// Lost loops in a row that make a mix suspect.
    public static let suspectAfter = 3
    /// How long a suspect mix is avoided before a loop may try it again.
    public let retrySeconds: Double
    var losses: [Bytes32: Int] = [:]
    var suspectUntil: [Bytes32: Double] = [:]

    public init(retrySeconds: Double) { self.retrySeconds = retrySeconds }

    /// The avoidance period for a network's epoch length: a quarter epoch (15 min at hour-long epochs),
    /// at least 1 s.
    public static func retrySeconds(epochSeconds: UInt32) -> Double { max(Double(epochSeconds) / 4, 1) }

    /// Records a loop through the mixes `path` that came back (`returned`) or was lost, at `now` (s).
    /// Returns the mixes it made suspect.
    @discardableResult
    public mutating func record(_ path: [Bytes32], returned: Bool, now: Double) -> [Bytes32] {
        var suspected: [Bytes32] = []
        for id in path {
            if returned {
                losses[id] = nil
                suspectUntil[id] = nil
                continue
            }
            let n = (losses[id] ?? 0) + 1
            losses[id] = n
            if n >= Self.suspectAfter {
                if !isSuspect(id, now: now) { suspected.append(id) }
                suspectUntil[id] = now + retrySeconds
            }
        }
        return suspected
    }

    /// Whether routes should avoid `id` at `now`.
    public func isSuspect(_ id: Bytes32, now: Double) -> Bool {
        guard let until = suspectUntil[id] else { return false }
        return now < until
    }

    /// The mixes avoided at `now`.
    public func suspects(now: Double) -> [Bytes32] { suspectUntil.filter { now < $0.value }.map { $0.key } }

    /// Forgets mixes not in `current` (they left the map): what it holds stays bounded by the map.
    public mutating func keep(only current: Set<Bytes32>) {
        losses = losses.filter { current.contains($0.key) }
        suspectUntil = suspectUntil.filter { current.contains($0.key) }
    }
}

import Foundation
import PosternCrypto

/// Loads a third-party vector file copied from ../shared/vectors into this target's resources.
enum VectorFile {
    static func load(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors") else {
            throw VectorError.missing(name)
        }
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw VectorError.malformed(name)
        }
        return object
    }

    static func cases(_ file: String, _ key: String) throws -> [[String: Any]] {
        guard let list = try load(file)[key] as? [[String: Any]], !list.isEmpty else {
            throw VectorError.malformed("\(file).\(key)")
        }
        return list
    }
}

enum VectorError: Error { case missing(String), malformed(String) }

extension Dictionary where Key == String, Value == Any {
    /// A hex field decoded to bytes; a missing or non-hex field fails the test instead of passing silently.
    func hex(_ field: String) throws -> [UInt8] {
        guard let text = self[field] as? String, let bytes = Hex.decode(text) else {
            throw VectorError.malformed(field)
        }
        return bytes
    }

    func int(_ field: String) throws -> Int {
        guard let value = self[field] as? Int else { throw VectorError.malformed(field) }
        return value
    }
}

import PosternSystem

/// Reads the battery from /sys/class/power_supply. Most boards have none and report mains power.
public enum Battery {
    static let names = ["BAT0", "BAT1", "BAT2", "battery", "axp20x-battery", "max170xx_battery", "bq27500-0"]

    public static func read(root: String = "/sys/class/power_supply") -> PowerState {
        for name in names {
            guard let capacity = try? Files.read(root + "/" + name + "/capacity", limit: 64),
                  let percent = Int(String(decoding: capacity, as: UTF8.self).filter { $0.isNumber }) else { continue }
            let status = (try? Files.read(root + "/" + name + "/status", limit: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return PowerState(batteryPercent: percent, discharging: status.hasPrefix("Discharging"))
        }
        return .mains
    }
}

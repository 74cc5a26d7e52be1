//! Quantities written the way people read them, shared by rules and reporters.

/// Seconds: `850 ns`, `12.3 µs`, `4.56 ms`, `2.10 s`; `–` when not a number.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    let (v, unit) = if s.abs() >= 1.0 {
        (s, "s")
    } else if s.abs() >= 1e-3 {
        (s * 1e3, "ms")
    } else if s.abs() >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    if v.abs() >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Bytes in binary units: `1.50 GiB`, `12.00 MiB`, `512 B`.
pub fn bytes(b: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    const GIB: f64 = 1024.0 * MIB;
    if b.abs() >= GIB {
        format!("{:.2} GiB", b / GIB)
    } else if b.abs() >= MIB {
        format!("{:.2} MiB", b / MIB)
    } else {
        format!("{b:.0} B")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn readable() {
        assert_eq!(super::seconds(0.4229), "423 ms");
        assert_eq!(super::seconds(2.1), "2.10 s");
        assert_eq!(super::seconds(0.016), "16.0 ms");
        assert_eq!(super::seconds(f64::NAN), "–");
        assert_eq!(super::bytes(26.0 * 1024.0 * 1024.0 * 1024.0), "26.00 GiB");
    }
}

use perfgate_report::{Counts, Decision};

/// 100 minus the weighted findings, floored at 0 (SPEC §6).
pub fn score(c: &Counts, weights: [u32; 5]) -> u32 {
    let penalty = u64::from(c.critical) * u64::from(weights[0])
        + u64::from(c.high) * u64::from(weights[1])
        + u64::from(c.medium) * u64::from(weights[2])
        + u64::from(c.low) * u64::from(weights[3])
        + u64::from(c.info) * u64::from(weights[4]);
    100u64.saturating_sub(penalty) as u32
}

/// FAIL on any critical or a score below `fail_below`; WARN on any high or a score below
/// `warn_below`; otherwise PASS.
pub fn decide(c: &Counts, score: u32, fail_below: u32, warn_below: u32) -> Decision {
    if c.critical > 0 || score < fail_below {
        Decision::Fail
    } else if c.high > 0 || score < warn_below {
        Decision::Warn
    } else {
        Decision::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_and_thresholds() {
        let w = [25, 8, 3, 1, 0];
        let c = Counts {
            critical: 0,
            high: 3,
            medium: 4,
            low: 2,
            info: 5,
        };
        assert_eq!(score(&c, w), 100 - 24 - 12 - 2);
        assert_eq!(decide(&c, 62, 60, 85), Decision::Warn);
        let none = Counts::default();
        assert_eq!(decide(&none, 100, 60, 85), Decision::Pass);
        assert_eq!(decide(&none, 84, 60, 85), Decision::Warn);
        assert_eq!(decide(&none, 59, 60, 85), Decision::Fail);
        let crit = Counts {
            critical: 1,
            ..Counts::default()
        };
        assert_eq!(decide(&crit, 75, 60, 85), Decision::Fail);
        let many = Counts {
            critical: 10,
            ..Counts::default()
        };
        assert_eq!(score(&many, w), 0);
    }
}

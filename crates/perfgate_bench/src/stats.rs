//! The regression test: a bootstrap confidence interval for the ratio of medians, plus a
//! minimum effect size.
//!
//! Why this test: benchmark timings are skewed and carry outliers (a context switch, a
//! page fault), so tests on means (t-tests) are pulled around by single samples. The median
//! is robust to them, and resampling needs no assumption about the distribution's shape.
//! The interval is on the *ratio* new/baseline, which is what a reader wants to know
//! ("12% slower, between 8% and 15%"), and the minimum effect keeps a real but tiny
//! difference (0.3%) from failing a build. A difference counts only when the whole 95%
//! interval lies on one side of 1 and the estimate moves by at least the minimum effect.

/// The `q`-quantile of sorted data, by linear interpolation between closest ranks.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

pub fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    quantile_sorted(&s, 0.5)
}

/// How a benchmark moved against its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Regression,
    Improvement,
    NoChange,
    /// Too few samples on a side to test (fewer than [`MIN_SAMPLES`]).
    Insufficient,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::NoChange => "no change",
            Verdict::Insufficient => "not enough samples",
        }
    }
}

pub const MIN_SAMPLES: usize = 5;
/// Bootstrap resamples: enough for a stable 95% interval (its ends move by well under 1%
/// between seeds at the sample sizes benchmark tools use).
pub const RESAMPLES: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    pub baseline_median: f64,
    pub current_median: f64,
    /// current / baseline.
    pub ratio: f64,
    /// 95% bootstrap interval of the ratio.
    pub ci_low: f64,
    pub ci_high: f64,
    pub verdict: Verdict,
}

/// Compare two sets of samples (seconds per iteration; lower is better). `min_effect` is the
/// smallest relative change that counts (0.05 = 5%). Deterministic: the resampling is
/// seeded from the data, so the same inputs always give the same answer.
pub fn compare(baseline: &[f64], current: &[f64], min_effect: f64) -> Comparison {
    let bm = median(baseline);
    let cm = median(current);
    let ratio = cm / bm;
    if baseline.len() < MIN_SAMPLES || current.len() < MIN_SAMPLES || bm.is_nan() || bm <= 0.0 {
        return Comparison {
            baseline_median: bm,
            current_median: cm,
            ratio,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            verdict: Verdict::Insufficient,
        };
    }
    let mut rng = fastrand::Rng::with_seed(seed_of(baseline, current));
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let mut bs = vec![0.0; baseline.len()];
    let mut cs = vec![0.0; current.len()];
    for _ in 0..RESAMPLES {
        for x in bs.iter_mut() {
            *x = baseline[rng.usize(..baseline.len())];
        }
        for x in cs.iter_mut() {
            *x = current[rng.usize(..current.len())];
        }
        let b = median_in_place(&mut bs);
        let c = median_in_place(&mut cs);
        if b > 0.0 {
            ratios.push(c / b);
        }
    }
    ratios.sort_by(f64::total_cmp);
    let ci_low = quantile_sorted(&ratios, 0.025);
    let ci_high = quantile_sorted(&ratios, 0.975);
    let verdict = if ci_low > 1.0 && ratio >= 1.0 + min_effect {
        Verdict::Regression
    } else if ci_high < 1.0 && ratio <= 1.0 - min_effect {
        Verdict::Improvement
    } else {
        Verdict::NoChange
    };
    Comparison {
        baseline_median: bm,
        current_median: cm,
        ratio,
        ci_low,
        ci_high,
        verdict,
    }
}

fn median_in_place(xs: &mut [f64]) -> f64 {
    let mid = xs.len() / 2;
    xs.select_nth_unstable_by(mid, f64::total_cmp);
    let hi = xs[mid];
    if xs.len() % 2 == 1 {
        hi
    } else {
        let lo = xs[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

fn seed_of(a: &[f64], b: &[f64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in a.iter().chain(b) {
        h ^= x.to_bits();
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log-normal-ish benchmark noise: a 2% jitter plus occasional 30% outliers.
    fn noisy(rng: &mut fastrand::Rng, n: usize, center: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let z: f64 = (0..12).map(|_| rng.f64()).sum::<f64>() - 6.0;
                let outlier = if rng.f64() < 0.05 { 1.3 } else { 1.0 };
                center * (0.02 * z).exp() * outlier
            })
            .collect()
    }

    #[test]
    fn a_a_pairs_are_not_flagged() {
        let mut rng = fastrand::Rng::with_seed(7);
        let flagged = (0..100)
            .filter(|_| {
                let a = noisy(&mut rng, 30, 1e-3);
                let b = noisy(&mut rng, 30, 1e-3);
                compare(&a, &b, 0.05).verdict == Verdict::Regression
            })
            .count();
        eprintln!("A/A: {flagged} of 100 flagged");
        assert!(flagged <= 5, "{flagged} of 100 unchanged pairs flagged");
    }

    #[test]
    fn a_ten_percent_slowdown_is_flagged() {
        let mut rng = fastrand::Rng::with_seed(11);
        let caught = (0..100)
            .filter(|_| {
                let a = noisy(&mut rng, 20, 1e-3);
                let b = noisy(&mut rng, 20, 1.1e-3);
                compare(&a, &b, 0.05).verdict == Verdict::Regression
            })
            .count();
        eprintln!("10% slower: {caught} of 100 flagged");
        assert!(caught >= 95, "only {caught} of 100 slowdowns flagged");
    }

    #[test]
    fn improvements_and_small_samples() {
        let mut rng = fastrand::Rng::with_seed(3);
        let a = noisy(&mut rng, 30, 1e-3);
        let b = noisy(&mut rng, 30, 0.8e-3);
        assert_eq!(compare(&a, &b, 0.05).verdict, Verdict::Improvement);
        assert_eq!(compare(&a[..3], &b, 0.05).verdict, Verdict::Insufficient);
        // Deterministic.
        assert_eq!(compare(&a, &b, 0.05), compare(&a, &b, 0.05));
    }

    #[test]
    fn quantiles() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        assert_eq!(quantile_sorted(&s, 1.0), 5.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}

//! What a replica does with its leases each interval, as a pure rule: the
//! fair share, and how many to claim or hand back.

/// `ceil(instances / live replicas)`: what each live replica may hold. A
/// replica counts itself live even before its first heartbeat is seen.
pub fn fair_share(instances: usize, live_replicas: usize) -> usize {
    instances.div_ceil(live_replicas.max(1))
}

/// The step toward the fair share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Claim up to this many unowned or expired leases.
    Claim(usize),
    /// Hand back this many leases (the replica holds more than its share,
    /// e.g. after another joined).
    HandBack(usize),
    Hold,
}

/// From the leases `held` (not counting those being handed back), the
/// instances that want to run and the live replicas.
pub fn step(held: usize, instances: usize, live_replicas: usize) -> Step {
    let share = fair_share(instances, live_replicas);
    match held.cmp(&share) {
        std::cmp::Ordering::Less => Step::Claim(share - held),
        std::cmp::Ordering::Greater => Step::HandBack(held - share),
        std::cmp::Ordering::Equal => Step::Hold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_rounds_up_so_every_instance_has_room() {
        assert_eq!(fair_share(60, 3), 20);
        assert_eq!(fair_share(61, 3), 21);
        assert_eq!(fair_share(1, 3), 1);
        assert_eq!(fair_share(0, 3), 0);
        assert_eq!(fair_share(10, 0), 10, "a replica alone takes everything");
        for n in 0..200 {
            for r in 1..8 {
                assert!(fair_share(n, r) * r >= n, "{n} instances on {r} replicas");
            }
        }
    }

    #[test]
    fn a_replica_claims_up_to_its_share_and_hands_back_beyond_it() {
        assert_eq!(step(0, 60, 3), Step::Claim(20));
        assert_eq!(step(20, 60, 3), Step::Hold);
        // A fourth replica joined: 15 each.
        assert_eq!(step(20, 60, 4), Step::HandBack(5));
        // One of three died: 30 each.
        assert_eq!(step(20, 60, 2), Step::Claim(10));
        // Instances stopped wanting to run.
        assert_eq!(step(20, 30, 3), Step::HandBack(10));
    }

    #[test]
    fn replicas_that_follow_the_rule_never_exceed_twice_their_share() {
        // Whatever the order in which replicas claim, each stops at the
        // share, so none holds more than 2× (here: more than 1×).
        for n in 1..150usize {
            for r in 1..6usize {
                let mut held = vec![0usize; r];
                let mut free = n;
                for turn in 0..(3 * r) {
                    let i = (turn * 7 + 3) % r;
                    if let Step::Claim(k) = step(held[i], n, r) {
                        let k = k.min(free);
                        held[i] += k;
                        free -= k;
                    }
                }
                assert_eq!(free, 0, "{n} instances on {r}: all claimed");
                assert!(held.iter().all(|&h| h <= 2 * fair_share(n, r)));
            }
        }
    }
}

//! A hybrid logical clock.
//!
//! Clocks are never trusted for causality (that comes from `base_version`); the HLC only orders
//! concurrent writes. It never rejects a time: a laptop a year off still produces timestamps that
//! increase, and the skew is something to record and show, not a reason to refuse data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as this device believed.
    pub wall_millis: u64,
    /// Breaks ties between events in the same millisecond (or while the wall clock stood still
    /// or went backwards).
    pub counter: u32,
}

impl Hlc {
    /// The timestamp of a local event, given the last one and the wall clock now.
    pub fn tick(self, now_millis: u64) -> Hlc {
        if now_millis > self.wall_millis {
            Hlc {
                wall_millis: now_millis,
                counter: 0,
            }
        } else {
            self.bump()
        }
    }

    /// The timestamp after receiving `remote`, given the last local one and the wall clock now.
    /// Never overflows: a counter at its maximum carries into the wall part, which saturates.
    pub fn observe(self, remote: Hlc, now_millis: u64) -> Hlc {
        let wall = self.wall_millis.max(remote.wall_millis).max(now_millis);
        let counter = if wall == self.wall_millis && wall == remote.wall_millis {
            self.counter.max(remote.counter)
        } else if wall == self.wall_millis {
            self.counter
        } else if wall == remote.wall_millis {
            remote.counter
        } else {
            return Hlc {
                wall_millis: wall,
                counter: 0,
            };
        };
        Hlc {
            wall_millis: wall,
            counter,
        }
        .bump()
    }

    fn bump(self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc {
                wall_millis: self.wall_millis,
                counter,
            },
            // Four billion events in one millisecond: move the wall part on instead. The very
            // last timestamp stays where it is rather than wrap around to the first (received
            // clocks are bounded far below it, see `change::Change::parse`).
            None => match self.wall_millis.checked_add(1) {
                Some(wall_millis) => Hlc {
                    wall_millis,
                    counter: 0,
                },
                None => self,
            },
        }
    }
}

/// Text form `WWWWWWWWWWWWWWW-CCCCCCCCCC`: fixed width, so text order is time order.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}-{:010}", self.wall_millis, self.counter)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a hybrid logical clock timestamp (expected WALLMILLIS-COUNTER)")]
pub struct HlcParseError(pub String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || HlcParseError(text.to_string());
        let (wall, counter) = text.split_once('-').ok_or_else(error)?;
        Ok(Hlc {
            wall_millis: wall.parse().map_err(|_| error())?,
            counter: counter.parse().map_err(|_| error())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_clock_that_goes_backwards_still_moves_forward() {
        let t1 = Hlc::default().tick(5_000);
        let t2 = t1.tick(1_000);
        assert!(t2 > t1);
        assert_eq!(t2.wall_millis, 5_000);
    }

    #[test]
    fn text_form_round_trips_and_sorts() {
        let a = Hlc {
            wall_millis: 9,
            counter: 10,
        };
        let b = Hlc {
            wall_millis: 10,
            counter: 0,
        };
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
        assert!(a.to_string() < b.to_string());
        assert!("x-1".parse::<Hlc>().is_err());
    }

    proptest! {
        #[test]
        fn observe_is_after_both_inputs(local_wall in 0u64..1u64<<40, local_counter in 0u32..1000,
                                        remote_wall in 0u64..1u64<<40, remote_counter in 0u32..1000,
                                        now in 0u64..1u64<<40) {
            let local = Hlc { wall_millis: local_wall, counter: local_counter };
            let remote = Hlc { wall_millis: remote_wall, counter: remote_counter };
            let next = local.observe(remote, now);
            prop_assert!(next > local);
            prop_assert!(next > remote);
            prop_assert!(next.wall_millis >= now);
        }
    }

    #[test]
    fn extreme_clocks_never_overflow() {
        let max = Hlc {
            wall_millis: u64::MAX,
            counter: u32::MAX,
        };
        let local = Hlc {
            wall_millis: 5,
            counter: u32::MAX,
        };
        assert!(local.observe(local, 0) > local);
        assert_eq!(
            max.tick(0),
            max,
            "the very last timestamp saturates instead of wrapping to 0"
        );
        assert_eq!(Hlc::default().observe(max, 0), max);
    }
}

//! What each request changed in the host's state, as the simulator's append-only ledger log
//! records it: new ledger rows, rows changed in place (reversed, voided, refunded), the card
//! accounts, the terminals when a batch closed, and the reference counter. Replaying the log
//! over the last snapshot rebuilds the state exactly; nothing cryptographic is replayed.

use super::{Acquirer, HostState, LedgerEntry, TerminalAccount};
use crate::acquirer::cards::TestCard;

/// One request's changes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Rows appended to the ledger, in order.
    pub new: Vec<LedgerEntry>,
    /// Rows changed in place: (position, the row now).
    pub set: Vec<(usize, LedgerEntry)>,
    /// The card accounts that changed, as they are now.
    pub cards: Vec<TestCard>,
    /// Every terminal, when one changed (a batch closed, terminals registered).
    pub terminals: Option<Vec<TerminalAccount>>,
    /// The last reference number issued.
    pub rrn_counter: u64,
}

impl Change {
    /// Applies the change to `state` (replaying the log at start).
    pub fn apply(self, state: &mut HostState) {
        for (i, row) in self.set {
            if let Some(slot) = state.ledger.get_mut(i) {
                *slot = row;
            }
        }
        state.ledger.extend(self.new);
        for card in self.cards {
            match state.cards.iter_mut().find(|c| c.pan == card.pan) {
                Some(slot) => *slot = card,
                None => state.cards.push(card),
            }
        }
        if let Some(t) = self.terminals {
            state.terminals = t;
        }
        state.rrn_counter = self.rrn_counter;
    }
}

impl Acquirer {
    /// Marks a ledger row changed in place.
    pub(super) fn touch(&mut self, i: usize) {
        self.touched.insert(i);
    }

    /// What changed since the last call (`None` when nothing did): the log record of the
    /// request just answered.
    ///
    /// ```
    /// use smartpos_testing::acquirer::Acquirer;
    /// let mut host = Acquirer::new(smartpos_core::profile::AcquirerProfile::cup_default());
    /// assert!(host.take_change().is_some()); // the first call carries the whole start state
    /// assert!(host.take_change().is_none());
    /// ```
    pub fn take_change(&mut self) -> Option<Change> {
        let from = self.change_from.min(self.state.ledger.len());
        let cards: Vec<TestCard> = self
            .state
            .cards
            .iter()
            .filter(|c| self.cards_logged.get(&c.pan) != Some(&(c.balance, c.held)))
            .cloned()
            .collect();
        let changed = from < self.state.ledger.len()
            || !cards.is_empty()
            || !self.touched.is_empty()
            || self.terminals_dirty
            || self.rrn_logged != Some(self.state.rrn_counter);
        if !changed {
            return None;
        }
        let touched = std::mem::take(&mut self.touched);
        let change = Change {
            new: self.state.ledger[from..].to_vec(),
            set: touched
                .into_iter()
                .filter(|i| *i < from)
                .filter_map(|i| self.state.ledger.get(i).map(|e| (i, e.clone())))
                .collect(),
            cards,
            terminals: std::mem::take(&mut self.terminals_dirty)
                .then(|| self.state.terminals.clone()),
            rrn_counter: self.state.rrn_counter,
        };
        self.change_from = self.state.ledger.len();
        for c in &change.cards {
            self.cards_logged.insert(c.pan.clone(), (c.balance, c.held));
        }
        self.rrn_logged = Some(self.state.rrn_counter);
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartpos_core::profile::AcquirerProfile;

    fn row(trace: u32) -> LedgerEntry {
        LedgerEntry {
            terminal_id: "10000001".into(),
            batch: 1,
            trace,
            kind: "sale".into(),
            amount_minor: 100,
            masked_pan: "622202******0123".into(),
            response_code: "00".into(),
            reference: format!("{trace:012}"),
            auth_code: "000001".into(),
            reversed: false,
            voided: false,
            refunded_minor: 0,
            original: None,
            card: "6222021234567890123".into(),
        }
    }

    #[test]
    fn replaying_the_changes_over_the_start_state_rebuilds_the_state() {
        let mut host = Acquirer::new(AcquirerProfile::cup_default());
        let start = host.state().clone();
        let mut log = vec![host.take_change().unwrap()];
        host.post(row(1));
        host.post(row(2));
        host.state_mut().rrn_counter = 2;
        log.push(host.take_change().unwrap());
        host.state_mut().ledger[0].reversed = true;
        host.touch(0);
        host.state_mut().cards[0].balance -= 5;
        host.register_terminals(20_000_001, 2);
        log.push(host.take_change().unwrap());
        assert!(host.take_change().is_none());

        let mut rebuilt = start;
        rebuilt.ledger.clear();
        for c in log {
            let line = serde_json::to_string(&c).unwrap();
            serde_json::from_str::<Change>(&line)
                .unwrap()
                .apply(&mut rebuilt);
        }
        assert_eq!(
            serde_json::to_value(&rebuilt).unwrap(),
            serde_json::to_value(host.state()).unwrap()
        );
    }
}

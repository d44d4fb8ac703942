//! A bounded memory of delivery ids: a redelivery this process saw is dropped before
//! anything is posted (the store's delivery-id check is the authority across replicas).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// The last `capacity` ids, oldest forgotten first.
pub struct Seen {
    capacity: usize,
    ids: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl Seen {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ids: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    /// True the first time this process sees `id`.
    pub fn first(&self, id: &str) -> bool {
        let Ok(mut g) = self.ids.lock() else {
            return true;
        };
        let (set, order) = &mut *g;
        if !set.insert(id.to_owned()) {
            return false;
        }
        order.push_back(id.to_owned());
        if order.len() > self.capacity
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_once_and_old_ones_are_forgotten_beyond_the_capacity() {
        let s = Seen::new(2);
        assert!(s.first("a"));
        assert!(!s.first("a"));
        assert!(s.first("b"));
        assert!(s.first("c"));
        assert!(s.first("a"), "forgotten: only the last two are kept");
    }
}

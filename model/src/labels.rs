//! Process-wide interned labels, so answers carry `&'static str` labels: copying one into a
//! [`crate::engine::SkillRef`] costs nothing, where a shared `Arc<str>` cost a write to the
//! label's reference count (a cache miss per skill: an answer lists about 660) and, across
//! threads, contention on it.
//!
//! Interned labels are never freed. Each distinct label is stored once for the life of the
//! process: the embedded ROME 4.0 catalogue interns about 33,700 labels (under 2 MB);
//! reloading the same data interns nothing new, and a new export adds only the labels that
//! changed.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

static LABELS: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// The interned copy of `label`: equal text gives the same `&'static str`.
pub fn intern(label: &str) -> &'static str {
    // A panic while holding the lock cannot leave the set inconsistent (an insert either
    // happened or not), so a poisoned lock is used as is.
    let mut labels = LABELS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = labels.get(label) {
        return known;
    }
    let leaked: &'static str = Box::leak(label.to_owned().into_boxed_str());
    labels.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn equal_text_is_stored_once() {
        let a = intern("Monteur raccordeur / Monteuse raccordeuse fibre optique");
        let b = intern(&String::from("Monteur raccordeur / Monteuse raccordeuse fibre optique"));
        assert_eq!(a, "Monteur raccordeur / Monteuse raccordeuse fibre optique");
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, intern("Technicien / Technicienne télécoms")));
    }
}

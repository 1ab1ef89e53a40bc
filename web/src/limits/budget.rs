//! The daily budget of generated tokens: one for the whole server and one per configured widget.
//! A request is admitted while the budgets it falls under are not yet spent; what it generates
//! is charged afterwards (so one answer may overshoot by up to `max_tokens`). The counters start
//! again at midnight UTC and are kept in memory only (a restart starts the day afresh).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::{DAY, seconds_until_midnight};

/// Which budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// The server-wide budget.
    Server,
    /// The requesting widget's own budget.
    Widget,
}

#[derive(Debug, Default)]
struct Day {
    number: u64,
    total: u64,
    by_widget: HashMap<String, u64>,
}

/// Daily token budgets (see the module docs).
#[derive(Debug)]
pub struct DailyBudget {
    /// Server-wide tokens per day; 0 = unlimited.
    total: u64,
    /// Widget id → tokens per day (only widgets with a budget of their own).
    widgets: HashMap<String, u64>,
    day: Mutex<Day>,
}

impl DailyBudget {
    /// `total` tokens per day for everybody (0 = unlimited) and per-widget budgets.
    pub fn new(total: u64, widgets: impl IntoIterator<Item = (String, u64)>) -> Self {
        Self {
            total,
            widgets: widgets.into_iter().filter(|(_, n)| *n > 0).collect(),
            day: Mutex::new(Day::default()),
        }
    }

    fn today(&self, unix: u64) -> std::sync::MutexGuard<'_, Day> {
        let mut day = self.day.lock().unwrap_or_else(|p| p.into_inner());
        if day.number != unix / DAY {
            *day = Day {
                number: unix / DAY,
                ..Day::default()
            };
        }
        day
    }

    /// `Ok` while neither the server's nor `widget`'s budget is spent at `unix`; else which one
    /// and the seconds until midnight UTC.
    pub fn check(&self, widget: Option<&str>, unix: u64) -> Result<(), (Spent, u64)> {
        let day = self.today(unix);
        let retry = seconds_until_midnight(unix);
        if self.total > 0 && day.total >= self.total {
            return Err((Spent::Server, retry));
        }
        if let Some((id, limit)) = widget.and_then(|w| self.widgets.get_key_value(w))
            && day.by_widget.get(id).copied().unwrap_or(0) >= *limit
        {
            return Err((Spent::Widget, retry));
        }
        Ok(())
    }

    /// Charges `tokens` generated at `unix` to the server and to `widget`.
    pub fn charge(&self, widget: Option<&str>, tokens: u64, unix: u64) {
        let mut day = self.today(unix);
        day.total = day.total.saturating_add(tokens);
        if let Some(id) = widget.filter(|w| self.widgets.contains_key(*w)) {
            let spent = day.by_widget.entry(id.to_string()).or_default();
            *spent = spent.saturating_add(tokens);
        }
    }

    /// Tokens generated so far on the day of `unix`.
    pub fn spent(&self, unix: u64) -> u64 {
        self.today(unix).total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: u64 = 1_796_040_000; // 2026-11-30 12:00 UTC

    #[test]
    fn a_spent_budget_refuses_until_midnight() {
        let budget = DailyBudget::new(100, []);
        budget.check(None, NOON).unwrap();
        budget.charge(None, 99, NOON);
        budget.check(None, NOON).unwrap();
        budget.charge(None, 5, NOON);
        assert_eq!(budget.check(None, NOON), Err((Spent::Server, 12 * 3600)));
        assert_eq!(budget.spent(NOON), 104);
        // The next day starts afresh.
        budget.check(None, NOON + 12 * 3600).unwrap();
        assert_eq!(budget.spent(NOON + 12 * 3600), 0);
    }

    #[test]
    fn widget_budgets_are_separate() {
        let budget = DailyBudget::new(0, [("a".to_string(), 10), ("b".to_string(), 0)]);
        budget.charge(Some("a"), 10, NOON);
        assert_eq!(budget.check(Some("a"), NOON).unwrap_err().0, Spent::Widget);
        budget.check(Some("b"), NOON).unwrap();
        budget.check(None, NOON).unwrap();
        // Unconfigured ids never create entries.
        budget.charge(Some("zzz"), 1_000, NOON);
        budget.check(Some("zzz"), NOON).unwrap();
        assert_eq!(budget.spent(NOON), 1_010);
    }
}

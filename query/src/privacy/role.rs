//! Who is asking: the role decides whether personal tables can be read at all. The web layer
//! maps bearer tokens to roles; callers without an identity get `query.default_role`.

use serde::{Deserialize, Serialize};

/// The role a query runs under. Roles are ordered by their rights (`Public < Analyst <
/// Admin`), so the weaker of two roles is `a.min(b)`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Anyone: open (non-personal) tables only; register tables are refused entirely.
    #[default]
    Public,
    /// An analyst of a member: open tables, and register tables through aggregates over groups
    /// of at least `min_group_size` persons.
    Analyst,
    /// An operator: the same data rights as an analyst (privacy applies to every role).
    Admin,
}

impl Role {
    /// Whether this role may read personal tables (always aggregated).
    pub fn may_aggregate_personal(self) -> bool {
        matches!(self, Role::Analyst | Role::Admin)
    }

    /// The lower-case name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "public" => Ok(Role::Public),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(crate::Error::Config(format!(
                "unknown role '{other}' (use public, analyst or admin)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print() {
        for role in [Role::Public, Role::Analyst, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert_eq!(" Analyst ".parse::<Role>().unwrap(), Role::Analyst);
        assert!("root".parse::<Role>().is_err());
        assert!(!Role::Public.may_aggregate_personal());
        assert!(Role::Admin.may_aggregate_personal());
        assert_eq!(Role::Admin.min(Role::Public), Role::Public);
        assert_eq!(Role::Analyst.min(Role::Admin), Role::Analyst);
    }
}

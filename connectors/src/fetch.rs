//! Where remote connectors get bytes from. [`Fetch`] is the one seam between the protocol
//! walkers (OParl lists, CKAN `package_search` pages, DCAT Hydra pages) and transport: the
//! HTTP client in [`crate::http`] implements it for real sources.

use crate::Result;

/// Something that returns the body behind a URL.
pub trait Fetch {
    /// The body of `url`; transport problems (unreachable, timeouts, 4xx/5xx after retries)
    /// are [`crate::Error::Http`].
    fn get(&self, url: &str) -> Result<Vec<u8>>;
}

//! Reading the files people write: YAML as a tree of nodes that remember their
//! line and column ([`yaml`]), problems located and named ([`error`]), and "did
//! you mean" hints ([`suggest`](mod@suggest)). Shared by the scenario format and by
//! Prometheus rule files; it knows nothing of either.

pub mod error;
pub mod suggest;
pub mod yaml;

pub use error::{Issue, ScenarioError};
pub use suggest::{edit_distance, suggest};

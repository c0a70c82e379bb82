//! Errors from loading a scenario or a rule file: I/O problems, or a list of located issues.

use std::fmt;

use super::yaml::Pos;

/// One problem in a scenario file, located and named.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Issue {
    /// Where the offending key or value is written.
    pub pos: Pos,
    /// Dotted path of the key (`pool.max_size`, `workload.2.open.rate`); empty for the whole file.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The file was read but is not a valid scenario; every problem found is listed.
    #[error("{}", render(file, issues))]
    Invalid {
        /// The file.
        file: String,
        /// All problems, in source order.
        issues: Vec<Issue>,
    },
}

impl ScenarioError {
    pub(crate) fn io(file: &str, e: std::io::Error) -> ScenarioError {
        ScenarioError::Io { file: file.to_string(), message: e.to_string() }
    }

    /// The located issues (empty for I/O errors).
    pub fn issues(&self) -> &[Issue] {
        match self {
            ScenarioError::Invalid { issues, .. } => issues,
            ScenarioError::Io { .. } => &[],
        }
    }
}

fn render(file: &str, issues: &[Issue]) -> String {
    let mut out = String::new();
    for (i, issue) in issues.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&issue.display(file).to_string());
    }
    if issues.len() > 1 {
        out.push_str(&format!("\n{} problems in {file}", issues.len()));
    }
    out
}

impl Issue {
    /// `file:line:col: path: message`, the form editors and CI annotate.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Issue, &'a str);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let i = self.0;
                write!(f, "{}:{}:{}: ", self.1, i.pos.line, i.pos.col)?;
                if !i.path.is_empty() {
                    write!(f, "{}: ", i.path)?;
                }
                f.write_str(&i.message)
            }
        }
        D(self, file)
    }
}
